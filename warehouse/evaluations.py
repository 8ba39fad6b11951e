"""Reads and writes of the evaluation tables: `evaluations`, `evaluation_items`, `evaluation_metrics`,
`evaluation_samples` (sampled answers for pass@k) and `evaluation_probes` (forgetting probe items).

The evaluation stage (`evaluation/`) decides what to answer and how to score it;
this module holds its SQL, so the stage never writes a statement itself. An
evaluation's row, its items and its metric values are written in one
transaction: a crash leaves all of them or none, and a rerun that finds the
row can trust its items and metrics to be there.
"""

from __future__ import annotations

from collections.abc import Mapping

from warehouse.db import Warehouse
from warehouse.ids import now


def eval_prompts(wh: Warehouse, split: str, limit: int | None = None) -> list[dict]:
    """The held-out prompts with a reference answer and their seed's topic, in prompt_id order (the first
    `limit` of them)."""
    rows = wh.query("SELECT p.prompt_id, p.text, p.reference, p.domain, s.topic FROM prompts p "
                    "LEFT JOIN seeds s USING (seed_id) WHERE p.split = ? AND p.reference IS NOT NULL "
                    "ORDER BY p.prompt_id", [split])
    return rows[:limit] if limit else rows


def find_evaluation(wh: Warehouse, evaluation_id: str) -> dict | None:
    """The finished evaluation with this id, if a run already recorded it."""
    rows = wh.query("SELECT * FROM evaluations WHERE evaluation_id = ?", [evaluation_id])
    return rows[0] if rows else None


def evaluation_items(wh: Warehouse, evaluation_id: str) -> list[dict]:
    """An evaluation's scored answers in prompt_id order (the order `eval_prompts` returns)."""
    return wh.query("SELECT * FROM evaluation_items WHERE evaluation_id = ? ORDER BY prompt_id", [evaluation_id])


def evaluation_samples(wh: Warehouse, evaluation_id: str, temperature: float, n: int) -> list[dict]:
    """The stored sampled answers at `temperature` with sample_index < n, by prompt_id then sample_index."""
    return wh.query("SELECT * FROM evaluation_samples WHERE evaluation_id = ? AND temperature = ? "
                    "AND sample_index < ? ORDER BY prompt_id, sample_index", [evaluation_id, temperature, n])


def record_samples(wh: Warehouse, rows: list[dict]) -> None:
    """Store sampled answers (one transaction; rows already stored are kept)."""
    wh.insert("evaluation_samples", rows)


def probe_rows(wh: Warehouse, evaluation_id: str, probe: str) -> list[dict]:
    """The stored probe items of an evaluation, by item_id."""
    return wh.query("SELECT * FROM evaluation_probes WHERE evaluation_id = ? AND probe = ? ORDER BY item_id",
                    [evaluation_id, probe])


def record_probe_rows(wh: Warehouse, rows: list[dict]) -> None:
    """Store scored probe items (one transaction; rows already stored are kept)."""
    wh.insert("evaluation_probes", rows)


def metric_values(wh: Warehouse, evaluation_id: str) -> dict[str, float | None]:
    """The metric values stored for an evaluation, by metric name (NULL = the metric does not apply)."""
    rows = wh.query("SELECT metric, value FROM evaluation_metrics WHERE evaluation_id = ? ORDER BY metric",
                    [evaluation_id])
    return {r["metric"]: r["value"] for r in rows}


def record_evaluation(wh: Warehouse, row: dict, items: list[dict], metrics: Mapping[str, float | None]) -> None:
    """Write an evaluation's items, its `evaluations` row and its metric values in one transaction."""
    with wh.transaction() as con:
        wh.insert("evaluation_items", items, con=con)
        wh.insert("evaluations", [row], con=con)
        wh.insert("evaluation_metrics", _metric_rows(row["evaluation_id"], metrics), con=con)


def set_metric_values(wh: Warehouse, evaluation_id: str, metrics: Mapping[str, float | None]) -> None:
    """Store metric values, replacing what is stored under those names (a NULL from a run that lacked a peer
    contestant, or nothing: a metric registered after the evaluation was recorded)."""
    rows = _metric_rows(evaluation_id, metrics)
    if not rows:
        return
    with wh.transaction() as con:
        con.executemany("INSERT OR REPLACE INTO evaluation_metrics (evaluation_id, metric, value, created_at) "
                        "VALUES (?, ?, ?, ?)", [[r["evaluation_id"], r["metric"], r["value"], r["created_at"]]
                                                for r in rows])


def _metric_rows(evaluation_id: str, metrics: Mapping[str, float | None]) -> list[dict]:
    created = now()
    return [{"evaluation_id": evaluation_id, "metric": name, "value": None if value is None else float(value),
             "created_at": created} for name, value in metrics.items()]
