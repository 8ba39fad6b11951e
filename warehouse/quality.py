"""Reads behind the data-quality report and the factory summary: figures per topic, template and teacher,
rejections by stage and reason, the trend across runs, the latest evaluation, and totals.

For each seed topic (`seeds.topic` of the prompt's seed; `?` where there is none), each template id and each
teacher (one teacher id = one backend/model/sampling config):

    generations          teacher samples stored
    verified / passed    samples with a verdict (the latest per sample) / whose verdict passed
    pass_rate            passed / verified
    decided              samples curation has decided on: curated (kept) + rejected
    deduped / dedup_rate rejected as exact_duplicate or near_duplicate / over decided
    decontaminated       rejected as decontaminated (a shared n-gram with an eval prompt)
    tokens_per_verified  all completion tokens of the group / passed: what one verified sample
    cost_per_verified    all teacher dollars of the group / passed   costs, failed attempts included
    priced               some dollars were recorded for the group; a local model (or an API model missing
                         from the recipe's `prices`) records $0, and its cost_per_verified is None (n/a), not 0

Dollars include the worst-case cost of attempts the client gave up on (`abandoned_cost_usd`: a timed-out
request a real API may still complete and bill). Rates and per-sample figures are None where their
denominator is 0.

`rejections`: generations turned away, per stage and reason: `verify` counts the failed latest verdicts by the
verifier's reason (wrong, no_answer, ...), which explain curation's `not_verified`; every other stage is the
`rejections` table (curate: not_verified, truncated, exact_duplicate, near_duplicate, decontaminated ...).

`trend`: per run that generated, verified or curated anything (oldest first, by `runs.started_at`, else by its
first row): the generations, verdicts (passed / verified, pass rate), kept and rejected rows it wrote.

`latest_evaluation`: the contestants of the newest evaluation run (the run_id of the newest `evaluations` row):
accuracy, n, correct and its 95% Wilson interval (`evaluation_metrics` accuracy_ci_low/high, None where not
stored). An evaluation is reused by a later run with the same config and keeps its first run_id, so a base or
teacher row the newest run lacks is taken from the newest one of that role on the same split and n (`reused`).

`report` reads all of them on one connection. The presentation (tables, markdown, chart) lives in
`curation/report.py`; this module only owns the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from warehouse.db import Warehouse

DEDUP_REASONS = ("exact_duplicate", "near_duplicate")
DECONTAM_REASON = "decontaminated"
DIMENSIONS = ("topic", "template", "teacher")


class QualityRow(TypedDict):
    """One row of the report; `label` is the topic, the template id or the teacher's model (its id added for
    twins)."""

    dimension: str
    key: str
    label: str
    generations: int
    verified: int
    passed: int
    pass_rate: float | None
    decided: int
    deduped: int
    dedup_rate: float | None
    decontaminated: int
    completion_tokens: int
    cost_usd: float
    tokens_per_verified: float | None
    cost_per_verified: float | None
    priced: bool


class Totals(TypedDict):
    """Warehouse-wide figures of the factory summary; the teacher-scoped ones count only the recipe's teachers."""

    train_prompts: int
    eval_prompts: int
    generations: int
    prompts_sent: int
    verified_rate: float | None
    failed_requests: int
    curated: int


_SQL = """
WITH v AS (
    SELECT generation_id, passed FROM verifications
    QUALIFY row_number() OVER (PARTITION BY generation_id ORDER BY created_at DESC) = 1
), rej AS (
    SELECT generation_id, bool_or(reason IN (?, ?)) AS dedup, bool_or(reason = ?) AS decontam
    FROM rejections GROUP BY generation_id
), s AS (
    SELECT g.generation_id, coalesce(se.topic, '?') AS topic, coalesce(p.template_id, '?') AS template_id,
           g.teacher_id,
           coalesce(te.model, g.teacher_id) AS teacher_model, g.completion_tokens,
           g.cost_usd + coalesce(g.abandoned_cost_usd, 0) AS cost_usd, v.passed,
           c.generation_id IS NOT NULL AS curated, rej.generation_id IS NOT NULL AS rejected,
           coalesce(rej.dedup, FALSE) AS dedup, coalesce(rej.decontam, FALSE) AS decontam
    FROM generations g
    LEFT JOIN prompts p ON p.prompt_id = g.prompt_id
    LEFT JOIN seeds se ON se.seed_id = p.seed_id
    LEFT JOIN teachers te ON te.teacher_id = g.teacher_id
    LEFT JOIN v ON v.generation_id = g.generation_id
    LEFT JOIN curated c ON c.generation_id = g.generation_id
    LEFT JOIN rej ON rej.generation_id = g.generation_id
)
SELECT dimension, key, label, count(*) AS generations, count(passed) AS verified,
       count(*) FILTER (WHERE passed) AS passed,
       count(*) FILTER (WHERE curated OR rejected) AS decided,
       count(*) FILTER (WHERE dedup) AS deduped, count(*) FILTER (WHERE decontam) AS decontaminated,
       coalesce(sum(completion_tokens), 0) AS completion_tokens, coalesce(sum(cost_usd), 0.0) AS cost_usd
FROM (SELECT 'topic' AS dimension, topic AS key, topic AS label, * FROM s
      UNION ALL
      SELECT 'template', template_id, template_id, * FROM s
      UNION ALL
      SELECT 'teacher', teacher_id, teacher_model, * FROM s)
GROUP BY dimension, key, label
ORDER BY dimension DESC, key  -- topic, template, teacher
"""


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _row(r: dict) -> QualityRow:
    """Raw counts -> the report's figures, with the rates derived here so every reader gets the same ones."""
    return QualityRow(
        dimension=r["dimension"], key=r["key"], label=r["label"],
        generations=r["generations"], verified=r["verified"], passed=r["passed"],
        pass_rate=_ratio(r["passed"], r["verified"]),
        decided=r["decided"], deduped=r["deduped"], dedup_rate=_ratio(r["deduped"], r["decided"]),
        decontaminated=r["decontaminated"],
        completion_tokens=int(r["completion_tokens"]), cost_usd=float(r["cost_usd"]),
        tokens_per_verified=_ratio(r["completion_tokens"], r["passed"]),
        cost_per_verified=_ratio(r["cost_usd"], r["passed"]) if r["cost_usd"] else None,
        priced=bool(r["cost_usd"]),
    )


def quality_report(wh: Warehouse, read_only: bool = True) -> list[QualityRow]:
    """One row per topic, template id and teacher id (in that order), with the figures above."""
    with wh.connect(read_only=read_only) as con:
        return _quality(con)


def _quality(con) -> list[QualityRow]:
    out = [_row(r) for r in _dicts(con, _SQL, [*DEDUP_REASONS, DECONTAM_REASON])]
    # two teacher configs of one model: tell them apart by id
    models = [r["label"] for r in out if r["dimension"] == "teacher"]
    for r in out:
        if r["dimension"] == "teacher" and models.count(r["label"]) > 1:
            r["label"] = f"{r['label']} ({r['key'][:8]})"
    return out


def _dicts(con, sql: str, params: Sequence | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


class RejectionRow(TypedDict):
    stage: str
    reason: str
    count: int


class TrendRow(TypedDict):
    """One run; `pass_rate` is passed / verified over the verdicts this run wrote (None without any)."""

    run_id: str
    flow: str | None
    started_at: object  # datetime
    generations: int
    verified: int
    passed: int
    pass_rate: float | None
    kept: int
    rejected: int


class EvaluationRow(TypedDict):
    evaluation_id: str
    run_id: str
    created_at: object  # datetime
    role: str
    model: str
    method: str | None
    snapshot: str | None
    training_run_id: str | None
    split: str
    n: int
    correct: int
    accuracy: float
    ci_low: float | None
    ci_high: float | None
    reused: bool


class Report(TypedDict):
    quality: list[QualityRow]
    rejections: list[RejectionRow]
    trend: list[TrendRow]
    evaluation: list[EvaluationRow]


_REJECTIONS = """
WITH v AS (
    SELECT generation_id, passed, reason FROM verifications
    QUALIFY row_number() OVER (PARTITION BY generation_id ORDER BY created_at DESC) = 1
)
SELECT stage, reason, count FROM (
    SELECT 'verify' AS stage, reason, count(*) AS count FROM v WHERE NOT passed GROUP BY reason
    UNION ALL
    SELECT stage, reason, count(DISTINCT generation_id) FROM rejections GROUP BY stage, reason
)
ORDER BY stage = 'verify' DESC, stage, count DESC, reason
"""


def rejections(wh: Warehouse, read_only: bool = True) -> list[RejectionRow]:
    """Generations turned away per (stage, reason): verify first, then each other stage, most frequent first."""
    with wh.connect(read_only=read_only) as con:
        return _dicts(con, _REJECTIONS)


_TREND = """
WITH g AS (SELECT run_id, count(*) AS generations, min(created_at) AS first FROM generations GROUP BY run_id),
v AS (SELECT run_id, count(*) AS verified, count(*) FILTER (WHERE passed) AS passed, min(created_at) AS first
      FROM verifications GROUP BY run_id),
c AS (SELECT run_id, count(*) AS kept, min(created_at) AS first FROM curated GROUP BY run_id),
rj AS (SELECT run_id, count(DISTINCT generation_id) AS rejected, min(created_at) AS first
       FROM rejections GROUP BY run_id),
ids AS (SELECT run_id FROM g UNION SELECT run_id FROM v UNION SELECT run_id FROM c UNION SELECT run_id FROM rj)
SELECT ids.run_id, r.flow,
       coalesce(r.started_at, least(g.first, v.first, c.first, rj.first)) AS started_at,
       coalesce(g.generations, 0) AS generations, coalesce(v.verified, 0) AS verified,
       coalesce(v.passed, 0) AS passed, coalesce(c.kept, 0) AS kept, coalesce(rj.rejected, 0) AS rejected
FROM ids
LEFT JOIN runs r USING (run_id)
LEFT JOIN g USING (run_id) LEFT JOIN v USING (run_id) LEFT JOIN c USING (run_id) LEFT JOIN rj USING (run_id)
ORDER BY started_at, run_id
"""


def trend(wh: Warehouse, read_only: bool = True) -> list[TrendRow]:
    """Per run that wrote generations, verdicts or curation decisions, oldest first: what it wrote."""
    with wh.connect(read_only=read_only) as con:
        return _trend(con)


def _trend(con) -> list[TrendRow]:
    return [{**r, "pass_rate": _ratio(r["passed"], r["verified"])} for r in _dicts(con, _TREND)]


_EVALUATIONS = """
WITH latest AS (SELECT run_id, split, n FROM evaluations ORDER BY created_at DESC, evaluation_id DESC LIMIT 1),
m AS (SELECT evaluation_id, max(value) FILTER (WHERE metric = 'accuracy_ci_low') AS ci_low,
             max(value) FILTER (WHERE metric = 'accuracy_ci_high') AS ci_high
      FROM evaluation_metrics GROUP BY evaluation_id)
SELECT e.evaluation_id, e.run_id, e.created_at, e.role, e.model,
       CASE WHEN e.training_run_id IS NULL THEN NULL ELSE coalesce(tr.config->>'method', 'sft') END AS method,
       sn.name AS snapshot, e.training_run_id, e.split, e.n, e.correct, e.accuracy, m.ci_low, m.ci_high,
       e.run_id <> latest.run_id AS reused
FROM evaluations e
JOIN latest ON e.run_id = latest.run_id
    OR (e.role IN ('base', 'teacher') AND e.split = latest.split AND e.n = latest.n)
LEFT JOIN m USING (evaluation_id)
LEFT JOIN training_runs tr ON tr.training_run_id = e.training_run_id
LEFT JOIN snapshots sn ON sn.snapshot_id = tr.snapshot_id
ORDER BY reused, e.created_at DESC, e.evaluation_id
"""
_ROLE_ORDER = {"base": 0, "student": 1, "teacher": 2}


def latest_evaluation(wh: Warehouse, read_only: bool = True) -> list[EvaluationRow]:
    """The newest evaluation run's contestants (base, students, teacher), with base / teacher rows it reused."""
    with wh.connect(read_only=read_only) as con:
        return _latest_evaluation(con)


def _latest_evaluation(con) -> list[EvaluationRow]:
    out, seen = [], set()
    for r in _dicts(con, _EVALUATIONS):  # the run's own rows first, then the newest reused row per role
        if r["reused"] and r["role"] in seen:
            continue
        seen.add(r["role"])
        out.append(r)
    return sorted(out, key=lambda r: (_ROLE_ORDER.get(r["role"], 1), r["method"] or "", r["snapshot"] or "",
                                      r["model"], r["evaluation_id"]))


def report(wh: Warehouse, read_only: bool = True) -> Report:
    """Every section of the report (quality, rejections, trend, evaluation), read on one connection."""
    with wh.connect(read_only=read_only) as con:
        return Report(quality=_quality(con), rejections=_dicts(con, _REJECTIONS), trend=_trend(con),
                      evaluation=_latest_evaluation(con))


_TOTALS = """
    SELECT
      (SELECT count(*) FROM prompts WHERE split = 'train') AS train_prompts,
      (SELECT count(*) FROM prompts WHERE split = 'eval') AS eval_prompts,
      (SELECT count(*) FROM generations WHERE list_contains(?, teacher_id)) AS generations,
      (SELECT count(DISTINCT prompt_id) FROM generations WHERE list_contains(?, teacher_id)) AS prompts_sent,
      (SELECT avg(passed::INT) FROM verifications v JOIN generations g USING (generation_id)
        WHERE list_contains(?, g.teacher_id)) AS verified_rate,
      (SELECT count(*) FROM request_failures WHERE resolved_at IS NULL) AS failed_requests,
      (SELECT count(*) FROM curated) AS curated
"""


def totals(wh: Warehouse, teacher_ids: Sequence[str]) -> Totals:
    """The factory summary's figures; generations and the verified rate count only `teacher_ids`."""
    ids = list(teacher_ids)
    return wh.query(_TOTALS, [ids] * 3)[0]
