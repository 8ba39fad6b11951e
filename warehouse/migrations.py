"""Ordered, named schema migrations; applied names are recorded in `schema_migrations`.

Append new migrations at the end; never edit one that has shipped. Every table
carries the id of the row it came from, so one join walks an evaluation back to
its seed, template version, teacher config and flow run:

    evaluations -> training_runs -> snapshots -> snapshot_rows -> generations
      -> prompts -> seeds, templates;  generations -> teachers;  *.run_id -> runs
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from warehouse.transaction import transaction

Migration = Callable[[duckdb.DuckDBPyConnection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_lineage(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            flow VARCHAR NOT NULL,
            recipe VARCHAR,
            recipe_json JSON,
            prefect_flow_run_id VARCHAR,
            status VARCHAR NOT NULL,          -- running | completed | failed | crashed (process gone, m007)
            error VARCHAR,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP
        );
        CREATE TABLE seeds (
            seed_id VARCHAR PRIMARY KEY,      -- the seed file's own id
            domain VARCHAR NOT NULL,
            topic VARCHAR,
            split VARCHAR NOT NULL,           -- train | eval
            question VARCHAR NOT NULL,
            reference VARCHAR,
            source_file VARCHAR NOT NULL,
            source_line INTEGER NOT NULL,
            payload JSON NOT NULL,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE templates (
            template_id VARCHAR PRIMARY KEY,  -- name@content-hash: a new body is a new version
            name VARCHAR NOT NULL,
            domain VARCHAR NOT NULL,
            version VARCHAR NOT NULL,
            body VARCHAR NOT NULL,
            source_file VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE prompts (
            prompt_id VARCHAR PRIMARY KEY,    -- hash(template_id, seed_id, variables)
            seed_id VARCHAR NOT NULL,
            template_id VARCHAR NOT NULL,
            domain VARCHAR NOT NULL,
            split VARCHAR NOT NULL,
            text VARCHAR NOT NULL,
            reference VARCHAR,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE teachers (
            teacher_id VARCHAR PRIMARY KEY,   -- hash of backend, model and sampling params
            backend VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            params JSON NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
    """)


@migration
def m002_generation_and_verification(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE generations (
            generation_id VARCHAR PRIMARY KEY, -- hash(prompt_id, teacher_id, sample_index): the idempotency key
            prompt_id VARCHAR NOT NULL,
            teacher_id VARCHAR NOT NULL,
            sample_index INTEGER NOT NULL,
            raw VARCHAR NOT NULL,
            reasoning VARCHAR,
            answer VARCHAR,
            finish_reason VARCHAR,            -- stop | length
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            latency_s DOUBLE,
            cost_usd DOUBLE,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE verifications (
            verification_id VARCHAR PRIMARY KEY, -- hash(generation_id, verifier, version)
            generation_id VARCHAR NOT NULL,
            verifier VARCHAR NOT NULL,
            version VARCHAR NOT NULL,
            passed BOOLEAN NOT NULL,
            reason VARCHAR NOT NULL,
            extracted VARCHAR,
            details JSON,
            duration_s DOUBLE,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
    """)


@migration
def m003_curation(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE rejections (
            rejection_id VARCHAR PRIMARY KEY,  -- hash(stage, generation_id)
            stage VARCHAR NOT NULL,            -- curate | ...
            generation_id VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,           -- machine-readable: not_verified, truncated, exact_duplicate ...
            details JSON,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE curated (
            generation_id VARCHAR PRIMARY KEY,
            prompt_id VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,     -- normalised prompt + response, for exact dedup
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE snapshots (
            snapshot_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            spec JSON NOT NULL,
            n_distilled INTEGER NOT NULL,
            n_general INTEGER NOT NULL,
            content_hash VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE snapshot_rows (
            snapshot_id VARCHAR NOT NULL,
            row_index INTEGER NOT NULL,
            kind VARCHAR NOT NULL,             -- distilled | general
            generation_id VARCHAR,             -- set for distilled rows
            general_id VARCHAR,                -- set for general rows
            prompt VARCHAR NOT NULL,
            completion VARCHAR NOT NULL,
            PRIMARY KEY (snapshot_id, row_index)
        );
    """)


@migration
def m004_training_and_evaluation(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE training_runs (
            training_run_id VARCHAR PRIMARY KEY, -- hash(snapshot_id, config)
            snapshot_id VARCHAR NOT NULL,
            base_model VARCHAR NOT NULL,
            config JSON NOT NULL,
            output_dir VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            steps INTEGER,
            train_loss DOUBLE,
            metrics JSON,
            run_id VARCHAR NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP
        );
        CREATE TABLE evaluations (
            evaluation_id VARCHAR PRIMARY KEY,   -- hash(role, model, training_run_id, eval config)
            role VARCHAR NOT NULL,               -- base | student | teacher
            model VARCHAR NOT NULL,
            training_run_id VARCHAR,             -- set for the student
            teacher_id VARCHAR,                  -- set for the teacher
            split VARCHAR NOT NULL,
            n INTEGER NOT NULL,
            correct INTEGER NOT NULL,
            accuracy DOUBLE NOT NULL,
            mean_latency_s DOUBLE,
            details JSON,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE evaluation_items (
            evaluation_id VARCHAR NOT NULL,
            prompt_id VARCHAR NOT NULL,
            response VARCHAR NOT NULL,
            passed BOOLEAN NOT NULL,
            reason VARCHAR NOT NULL,
            extracted VARCHAR,
            PRIMARY KEY (evaluation_id, prompt_id)
        );
    """)


@migration
def m005_teacher_requests(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE request_failures (
            generation_id VARCHAR PRIMARY KEY, -- the generation this request would have produced
            prompt_id VARCHAR NOT NULL,
            teacher_id VARCHAR NOT NULL,
            sample_index INTEGER NOT NULL,
            error_type VARCHAR NOT NULL,       -- rate_limited | server_error | timeout | connection | malformed | http_4xx
            status_code INTEGER,
            message VARCHAR NOT NULL,
            attempts INTEGER NOT NULL,         -- summed over every run that tried
            run_id VARCHAR NOT NULL,           -- the last run that failed it
            first_failed_at TIMESTAMP NOT NULL,
            last_failed_at TIMESTAMP NOT NULL,
            resolved_at TIMESTAMP              -- set when a later run stored the generation
        );
        CREATE TABLE generation_logprobs (
            generation_id VARCHAR PRIMARY KEY,
            top_k INTEGER NOT NULL,
            tokens VARCHAR[] NOT NULL,         -- the sampled tokens
            logprobs FLOAT[] NOT NULL,         -- their log-probabilities
            top_tokens VARCHAR[][] NOT NULL,   -- per position, the top-k alternatives
            top_logprobs FLOAT[][] NOT NULL
        );
    """)


@migration
def m006_problem_synthesis(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE synth_problems (
            problem_id VARCHAR PRIMARY KEY,    -- the writer generation it was read from (one problem each)
            knowledge_id VARCHAR NOT NULL,     -- the knowledge item (a seed row with split 'knowledge')
            question VARCHAR,
            status VARCHAR NOT NULL,           -- accepted | near_copy | unparseable
            similar_prompt_id VARCHAR,         -- the closest existing prompt (or new problem) and its similarity
            similarity DOUBLE,
            seed_id VARCHAR,                   -- set when accepted: the new train seed and its prompt
            prompt_id VARCHAR,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        CREATE TABLE problem_labels (
            prompt_id VARCHAR PRIMARY KEY,
            method VARCHAR NOT NULL,           -- self_consistency
            label VARCHAR,                     -- the majority answer; NULL when there is none
            agreement DOUBLE NOT NULL,         -- largest group / samples
            votes INTEGER NOT NULL,
            samples INTEGER NOT NULL,
            accepted BOOLEAN NOT NULL,         -- agreement >= min_agreement: the label is the prompt's reference
            min_agreement DOUBLE NOT NULL,
            groups JSON NOT NULL,
            run_id VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
    """)


@migration
def m007_run_owner(con: duckdb.DuckDBPyConnection) -> None:
    # which process runs a flow, so a run killed with -9 can be found and marked `crashed`
    con.execute("ALTER TABLE runs ADD COLUMN host VARCHAR; ALTER TABLE runs ADD COLUMN pid INTEGER;")


@migration
def m008_near_dedup(con: duckdb.DuckDBPyConnection) -> None:
    # MinHash signatures of kept items (curation/near_dedup.py), so each curation run dedups against
    # everything kept before without recomputing them. One row per (config, scope, item): a config
    # change gets its own signatures instead of mixing incompatible ones.
    con.execute("""
        CREATE TABLE minhash_signatures (
            item_id VARCHAR NOT NULL,          -- the kept item (e.g. a generation_id)
            scope VARCHAR NOT NULL,            -- what is deduped together (e.g. 'math/responses')
            config_id VARCHAR NOT NULL,        -- stable_id of the NearDupConfig (shingling, perms, bands, rows)
            signature BLOB NOT NULL,           -- num_perm little-endian uint32 (datasketch affine32 hash values)
            numbers_hash BIGINT,               -- hash of the sorted number tokens (numbers_must_match)
            cluster_id VARCHAR,                -- the kept item that represents its cluster (itself)
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (config_id, scope, item_id)
        );
    """)


@migration
def m009_evaluation_metrics(con: duckdb.DuckDBPyConnection) -> None:
    # One row per (evaluation, registered metric) (evaluation/metrics): a new metric is new rows, not a new
    # column. `evaluations` keeps n, correct, accuracy and mean_latency_s as before. A NULL value is a metric
    # that does not apply to that evaluation (e.g. a latency for answers shared with another role).
    con.execute("""
        CREATE TABLE evaluation_metrics (
            evaluation_id VARCHAR NOT NULL,
            metric VARCHAR NOT NULL,           -- the METRICS registry key, e.g. 'accuracy'
            value DOUBLE,
            created_at TIMESTAMP NOT NULL,
            PRIMARY KEY (evaluation_id, metric)
        );
    """)


@migration
def m010_abandoned_requests(con: duckdb.DuckDBPyConnection) -> None:
    # Attempts the client gave up on (a timeout) may still be completed and billed by a real API: count
    # them, with their worst-case cost (prompt + max_tokens at the model's price), on the generation that
    # was finally answered or on the request that failed.
    for table in ("generations", "request_failures"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN abandoned INTEGER DEFAULT 0")
        con.execute(f"ALTER TABLE {table} ADD COLUMN abandoned_cost_usd DOUBLE DEFAULT 0.0")


@migration
def m011_logprob_token_ids(con: duckdb.DuckDBPyConnection) -> None:
    # Logit distillation needs ids in the teacher's vocabulary, not only token strings (which an API gives):
    # the sampled ids, the top-k ids per position, and which vocabulary they index (size + hash).
    for ddl in ("token_ids INTEGER[]", "top_ids INTEGER[][]", "vocab_size INTEGER", "vocab_hash VARCHAR"):
        con.execute(f"ALTER TABLE generation_logprobs ADD COLUMN {ddl}")


@migration
def m012_evaluation_samples_and_probes(con: duckdb.DuckDBPyConnection) -> None:
    # pass@k / maj@k read n sampled answers per prompt, and the forgetting metrics read one likelihood-scored
    # row per probe item; both are kept per item so a later run adds only what is missing (more samples, a
    # larger probe_limit) and a delta or a flip count against the base model needs no model.
    con.execute("""
        CREATE TABLE evaluation_samples (
            evaluation_id VARCHAR NOT NULL,
            temperature DOUBLE NOT NULL,
            prompt_id VARCHAR NOT NULL,
            sample_index INTEGER NOT NULL,
            response VARCHAR NOT NULL,
            passed BOOLEAN NOT NULL,
            reason VARCHAR NOT NULL,
            extracted VARCHAR,
            PRIMARY KEY (evaluation_id, temperature, prompt_id, sample_index)
        );
        CREATE TABLE evaluation_probes (
            evaluation_id VARCHAR NOT NULL,
            probe VARCHAR NOT NULL,              -- general_nll | truthfulqa | hellaswag
            item_id VARCHAR NOT NULL,
            correct BOOLEAN,                     -- the chosen choice is the gold one (NULL: one choice)
            choice INTEGER NOT NULL,
            nll DOUBLE NOT NULL,                 -- of the gold choice's tokens, summed
            tokens INTEGER NOT NULL,             -- the gold choice's tokens
            PRIMARY KEY (evaluation_id, probe, item_id)
        );
    """)


@migration
def m013_comments_and_views(con: duckdb.DuckDBPyConnection) -> None:
    # SQL users (the DuckDB CLI, a notebook) read what each table and column holds from the catalog
    # (`duckdb_tables()`, `duckdb_columns()`, `duckdb_views()`: the `comment` column), and two views save the
    # joins they write most: a training row back to its seed line, and rejections counted by reason.
    tables = {
        "runs": "one row per flow run: status running | completed | failed | crashed, its recipe and Prefect id",
        "seeds": "one seed problem, with the file and line it was read from",
        "templates": "one template version: name@content-hash",
        "prompts": "one seed rendered with one template version; split train | eval",
        "teachers": "one teacher config: backend, model and the sampling params that make its id",
        "generations": "one teacher sample of a prompt: raw text, reasoning, answer, tokens, latency, cost",
        "generation_logprobs": "top-k logprobs of a generation, as parallel lists per generated token",
        "request_failures": "a teacher request that failed its last attempt; pending until resolved_at is set",
        "verifications": "the verifier's verdict on one generation",
        "rejections": "a generation dropped by a stage, with a machine-readable reason",
        "curated": "a generation kept by curation",
        "snapshots": "a named, immutable, content-hashed training set",
        "snapshot_rows": "one row of a snapshot: a curated generation (distilled) or a general-data row",
        "training_runs": "one training of a student on a snapshot: config (with method), loss, time, output dir",
        "evaluations": "accuracy of one model (base | student | teacher) on one split",
        "evaluation_items": "one answer of an evaluation, verified",
        "evaluation_metrics": "one metric value of an evaluation (interval, p-values, retention, speedup, ...)",
    }
    columns = {
        "runs": {"run_id": "the Prefect flow-run id, or a random id outside Prefect",
                 "flow": "factory | refresh | generate | curate | snapshot | train | evaluate | ...",
                 "recipe": "recipe name", "recipe_json": "the recipe as loaded, with its source path",
                 "status": "running | completed | failed | crashed (process gone)",
                 "error": "why a failed or crashed run ended (cut to 2,000 characters)"},
        "seeds": {"seed_id": "the seed file's own id", "split": "train | eval | knowledge",
                  "source_file": "the seed file the row was read from", "source_line": "its 1-based line"},
        "templates": {"template_id": "name@content-hash: a new body is a new version"},
        "prompts": {"prompt_id": "hash(template_id, seed_id, variables)", "text": "the rendered user turn",
                    "reference": "the answer the verifier checks against"},
        "teachers": {"teacher_id": "hash of backend, model and sampling params",
                     "params": "temperature, top_p, max_tokens, system_prompt, few_shot, seed"},
        "generations": {"generation_id": "hash(prompt_id, teacher_id, sample_index): the idempotency key",
                        "finish_reason": "stop | length (truncated at max_tokens)",
                        "cost_usd": "at the recipe's price table; 0 for a local model",
                        "run_id": "the flow run that stored it"},
        "verifications": {"passed": "the verifier accepted the answer", "reason": "machine-readable verdict reason",
                          "extracted": "the answer the verifier read from the response"},
        "rejections": {"stage": "the stage that dropped it (curate, ...)",
                       "reason": "machine-readable: not_verified, truncated, exact_duplicate, near_duplicate, ..."},
        "snapshot_rows": {"kind": "distilled | general", "generation_id": "set for distilled rows",
                          "general_id": "set for general rows"},
        "training_runs": {"training_run_id": "hash(snapshot_id, config)", "config": "training settings, with method"},
        "evaluations": {"role": "base | student | teacher", "training_run_id": "set for a student",
                        "teacher_id": "set for the teacher", "accuracy": "correct / n"},
    }
    for table, text in tables.items():
        con.execute(f"COMMENT ON TABLE {table} IS '{_quoted(text)}'")
    for table, cols in columns.items():
        for column, text in cols.items():
            con.execute(f"COMMENT ON COLUMN {table}.{column} IS '{_quoted(text)}'")
    con.execute("""
        CREATE VIEW lineage AS
        WITH used AS (
            SELECT tr.snapshot_id,
                   list_sort(list(DISTINCT tr.training_run_id)) AS training_run_ids,
                   list_sort(list(DISTINCT e.evaluation_id) FILTER (WHERE e.evaluation_id IS NOT NULL))
                       AS evaluation_ids
            FROM training_runs tr LEFT JOIN evaluations e USING (training_run_id)
            GROUP BY tr.snapshot_id)
        SELECT sr.snapshot_id, sn.name AS snapshot, sr.row_index, sr.kind, sr.generation_id, sr.general_id,
               g.prompt_id, sd.seed_id, sd.source_file AS seed_file, sd.source_line AS seed_line, p.template_id,
               g.teacher_id, t.model AS teacher_model, g.run_id, r.prefect_flow_run_id,
               coalesce(u.training_run_ids, []) AS training_run_ids,
               coalesce(u.evaluation_ids, []) AS evaluation_ids
        FROM snapshot_rows sr
        JOIN snapshots sn USING (snapshot_id)
        LEFT JOIN generations g ON g.generation_id = sr.generation_id
        LEFT JOIN prompts p ON p.prompt_id = g.prompt_id
        LEFT JOIN seeds sd ON sd.seed_id = p.seed_id
        LEFT JOIN teachers t ON t.teacher_id = g.teacher_id
        LEFT JOIN runs r ON r.run_id = g.run_id
        LEFT JOIN used u ON u.snapshot_id = sr.snapshot_id;
        COMMENT ON VIEW lineage IS 'one row per snapshot row: its seed file and line, template, teacher and flow run, '
            'and the training runs and evaluations that used its snapshot (general rows: general_id, no seed)';
        CREATE VIEW rejection_reasons AS
        SELECT stage, reason, count(*) AS n, min(created_at) AS first_at, max(created_at) AS last_at
        FROM rejections GROUP BY stage, reason;
        COMMENT ON VIEW rejection_reasons IS 'rejections counted per stage and reason';
    """)


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def apply(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every pending migration in order, each in its own transaction; return their names."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    done = {r[0] for r in con.execute("SELECT name FROM schema_migrations").fetchall()}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        with transaction(con):
            fn(con)
            con.execute("INSERT INTO schema_migrations VALUES (?, now())", [name])
        applied.append(name)
    return applied
