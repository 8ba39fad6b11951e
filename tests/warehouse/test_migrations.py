import duckdb

from warehouse import migrations
from warehouse.db import Warehouse


def test_migrations_apply_in_order_and_are_recorded(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    applied = wh.init()
    assert applied == [name for name, _ in migrations.MIGRATIONS]
    assert applied == sorted(applied), "migration names must sort in application order"
    recorded = [r["name"] for r in wh.query("SELECT name FROM schema_migrations ORDER BY applied_at, name")]
    assert recorded == applied


def test_reapplying_is_a_no_op(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.init()
    assert wh.init() == []


def test_lineage_columns_and_types():
    con = duckdb.connect(":memory:")
    migrations.apply(con)
    cols = {(t, c): ty for t, c, ty in con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns").fetchall()}
    assert cols[("generations", "generation_id")] == "VARCHAR"
    assert cols[("generations", "sample_index")] == "INTEGER"
    assert cols[("generations", "latency_s")] == "DOUBLE"
    assert cols[("verifications", "passed")] == "BOOLEAN"
    assert cols[("evaluations", "accuracy")] == "DOUBLE"
    assert cols[("runs", "recipe_json")] == "JSON"
    for table, link in [("evaluations", "training_run_id"), ("training_runs", "snapshot_id"),
                        ("snapshot_rows", "generation_id"), ("generations", "prompt_id"),
                        ("generations", "teacher_id"), ("prompts", "seed_id"), ("prompts", "template_id"),
                        ("generations", "run_id")]:
        assert (table, link) in cols, f"{table}.{link} links the lineage"


def _lineage_rows(con) -> None:
    """A seed -> prompt -> generation -> snapshot row -> training run -> evaluation chain, a general row,
    and three rejections."""
    con.execute("""
        INSERT INTO runs (run_id, flow, status, started_at, prefect_flow_run_id) VALUES ('r1', 'factory', 'completed',
            now(), 'pf-1');
        INSERT INTO seeds VALUES ('s1', 'math', 'fractions', 'train', 'q?', '1', 'examples/math/seeds.jsonl', 7,
            '{}', 'r1', now());
        INSERT INTO prompts VALUES ('p1', 's1', 'math@abc', 'math', 'train', 'q?', '1', 'r1', now());
        INSERT INTO teachers VALUES ('t1', 'transformers', 'smollm2', '{}', now());
        INSERT INTO generations (generation_id, prompt_id, teacher_id, sample_index, raw, run_id, created_at)
            VALUES ('g1', 'p1', 't1', 0, 'x', 'r1', now());
        INSERT INTO snapshots VALUES ('sn1', 'snap', '{}', 1, 1, 'h', 'r1', now());
        INSERT INTO snapshot_rows VALUES ('sn1', 0, 'distilled', 'g1', NULL, 'q?', 'x'),
                                         ('sn1', 1, 'general', NULL, 'gen-9', 'hi', 'hello');
        INSERT INTO training_runs (training_run_id, snapshot_id, base_model, config, output_dir, status, run_id,
            started_at) VALUES ('tr1', 'sn1', 'smollm2', '{}', 'runs/tr1', 'completed', 'r1', now());
        INSERT INTO evaluations (evaluation_id, role, model, training_run_id, split, n, correct, accuracy, run_id,
            created_at) VALUES ('e1', 'student', 'smollm2', 'tr1', 'eval', 10, 5, 0.5, 'r1', now());
        INSERT INTO rejections VALUES ('x1', 'curate', 'g2', 'truncated', NULL, 'r1', now()),
                                      ('x2', 'curate', 'g3', 'truncated', NULL, 'r1', now()),
                                      ('x3', 'curate', 'g4', 'not_verified', NULL, 'r1', now());
    """)


def test_lineage_view_walks_a_snapshot_row_to_its_seed_line_and_its_uses():
    con = duckdb.connect(":memory:")
    migrations.apply(con)
    _lineage_rows(con)
    cur = con.execute("SELECT * FROM lineage ORDER BY row_index")
    rows = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
    assert len(rows) == 2, "one row per snapshot row"
    distilled, general = rows
    assert (distilled["seed_file"], distilled["seed_line"], distilled["template_id"]) == \
        ("examples/math/seeds.jsonl", 7, "math@abc")
    assert (distilled["teacher_model"], distilled["run_id"], distilled["prefect_flow_run_id"]) == \
        ("smollm2", "r1", "pf-1")
    assert distilled["training_run_ids"] == ["tr1"] and distilled["evaluation_ids"] == ["e1"]
    assert general["general_id"] == "gen-9" and general["seed_file"] is None
    assert general["evaluation_ids"] == ["e1"], "the general row trained the same student"


def test_rejection_reasons_view_counts_per_stage_and_reason():
    con = duckdb.connect(":memory:")
    migrations.apply(con)
    _lineage_rows(con)
    assert con.execute("SELECT stage, reason, n FROM rejection_reasons ORDER BY n DESC").fetchall() == \
        [("curate", "truncated", 2), ("curate", "not_verified", 1)]


def test_tables_columns_and_views_carry_comments():
    con = duckdb.connect(":memory:")
    migrations.apply(con)
    commented = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE comment IS NOT NULL "
                                           "AND comment <> ''").fetchall()}
    assert {"runs", "seeds", "prompts", "teachers", "generations", "verifications", "rejections", "curated",
            "snapshots", "snapshot_rows", "training_runs", "evaluations"} <= commented
    column = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'generations' "
                         "AND column_name = 'generation_id'").fetchone()[0]
    assert "idempotency key" in column
    views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
    assert "seed file and line" in views["lineage"] and "reason" in views["rejection_reasons"]
