"""What `distill status` shows: rows per table, generations per stage outcome, the latest runs.

One read-only connection for all three, so the figures come from one moment even while a flow writes.
"""

from __future__ import annotations

from typing import TypedDict

from warehouse.db import Warehouse

TABLES = ("runs", "seeds", "templates", "prompts", "teachers", "generations", "generation_logprobs",
          "request_failures", "verifications", "rejections", "curated", "snapshots", "snapshot_rows", "training_runs",
          "evaluations", "evaluation_items", "evaluation_metrics")

_STAGES = """
    SELECT 'verified' AS stage, passed::VARCHAR AS outcome, count(*) AS rows FROM verifications GROUP BY ALL
    UNION ALL SELECT 'curated', 'kept', count(*) FROM curated
    UNION ALL SELECT 'rejected:' || stage, reason, count(*) FROM rejections GROUP BY ALL
    ORDER BY 1, 2"""

_RECENT = "SELECT flow, status, started_at, finished_at FROM runs ORDER BY started_at DESC LIMIT ?"


class Status(TypedDict):
    """`counts`: table -> rows; `stages`: {stage, outcome, rows}; `recent`: {flow, status, started_at, finished_at}."""

    counts: dict[str, int]
    stages: list[dict]
    recent: list[dict]


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def warehouse_status(wh: Warehouse, recent: int = 5) -> Status:
    """Row counts of every table in TABLES, stage outcomes, and the `recent` latest runs (newest first)."""
    with wh.connect(read_only=True) as con:
        counts = {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in TABLES}
        stages = _dicts(con.execute(_STAGES))
        runs = _dicts(con.execute(_RECENT, [recent]))
    return Status(counts=counts, stages=stages, recent=runs)
