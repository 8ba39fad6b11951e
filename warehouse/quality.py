"""Reads behind the data-quality report and the factory summary: figures per template and teacher, and totals.

For each template id and each teacher (one teacher id = one backend/model/sampling config):

    generations          teacher samples stored
    verified / passed    samples with a verdict (the latest per sample) / whose verdict passed
    pass_rate            passed / verified
    decided              samples curation has decided on: curated (kept) + rejected
    deduped / dedup_rate rejected as exact_duplicate or near_duplicate / over decided
    decontaminated       rejected as decontaminated (a shared n-gram with an eval prompt)
    tokens_per_verified  all completion tokens of the group / passed: what one verified sample
    cost_per_verified    all teacher dollars of the group / passed   costs, failed attempts included

Dollars include the worst-case cost of attempts the client gave up on (`abandoned_cost_usd`: a timed-out
request a real API may still complete and bill). Rates and per-sample figures are None where their
denominator is 0. The presentation (tables, markdown,
chart) lives in `curation/report.py`; this module only owns the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from warehouse.db import Warehouse

DEDUP_REASONS = ("exact_duplicate", "near_duplicate")
DECONTAM_REASON = "decontaminated"
DIMENSIONS = ("template", "teacher")


class QualityRow(TypedDict):
    """One row of the report; `label` is the template id or the teacher's model (its id added for twins)."""

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
    SELECT g.generation_id, coalesce(p.template_id, '?') AS template_id, g.teacher_id,
           coalesce(te.model, g.teacher_id) AS teacher_model, g.completion_tokens,
           g.cost_usd + coalesce(g.abandoned_cost_usd, 0) AS cost_usd, v.passed,
           c.generation_id IS NOT NULL AS curated, rej.generation_id IS NOT NULL AS rejected,
           coalesce(rej.dedup, FALSE) AS dedup, coalesce(rej.decontam, FALSE) AS decontam
    FROM generations g
    LEFT JOIN prompts p ON p.prompt_id = g.prompt_id
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
FROM (SELECT 'template' AS dimension, template_id AS key, template_id AS label, * FROM s
      UNION ALL
      SELECT 'teacher', teacher_id, teacher_model, * FROM s)
GROUP BY dimension, key, label
ORDER BY dimension DESC, key
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
        cost_per_verified=_ratio(r["cost_usd"], r["passed"]),
    )


def quality_report(wh: Warehouse, read_only: bool = True) -> list[QualityRow]:
    """One row per template id and per teacher id (template rows first), with the figures above."""
    out = [_row(r) for r in wh.query(_SQL, [*DEDUP_REASONS, DECONTAM_REASON], read_only=read_only)]
    # two teacher configs of one model: tell them apart by id
    models = [r["label"] for r in out if r["dimension"] == "teacher"]
    for r in out:
        if r["dimension"] == "teacher" and models.count(r["label"]) > 1:
            r["label"] = f"{r['label']} ({r['key'][:8]})"
    return out


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
