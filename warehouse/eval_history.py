"""Read queries over every recorded evaluation, for `distill eval list | compare | chart`.

They read the evaluation tables generically: an evaluation's row, the training run and
snapshot it scored (none for the base model and the teacher), and whatever metric values
the long `evaluation_metrics` table holds for it, so a metric registered later shows up
here without a change. All of them open the file read-only (they retry while a flow
writes).
"""

from __future__ import annotations

from warehouse.db import Warehouse

_EVALUATIONS = """
    SELECT e.evaluation_id, e.created_at, e.role, e.model, e.training_run_id,
           CASE WHEN e.training_run_id IS NULL THEN NULL ELSE coalesce(tr.config->>'method', 'sft') END AS method,
           sn.name AS snapshot, e.split, e.n, e.correct, e.accuracy, e.mean_latency_s
    FROM evaluations e
    LEFT JOIN training_runs tr ON tr.training_run_id = e.training_run_id
    LEFT JOIN snapshots sn ON sn.snapshot_id = tr.snapshot_id
"""


def list_evaluations(wh: Warehouse, split: str | None = None) -> list[dict]:
    """Every evaluation, oldest first: id, when, role, model, training run, its method (training_runs.config,
    `sft` for runs recorded before methods existed) and snapshot name, split, n, correct, accuracy, latency."""
    where, params = ("WHERE e.split = ?", [split]) if split else ("", [])
    return wh.query(f"{_EVALUATIONS} {where} ORDER BY e.created_at, e.evaluation_id", params, read_only=True)


def metric_table(wh: Warehouse) -> dict[str, dict[str, float | None]]:
    """Every stored metric value: evaluation_id -> {metric: value} (NULL = did not apply)."""
    out: dict[str, dict[str, float | None]] = {}
    for r in wh.query("SELECT evaluation_id, metric, value FROM evaluation_metrics ORDER BY evaluation_id, metric",
                      read_only=True):
        out.setdefault(r["evaluation_id"], {})[r["metric"]] = r["value"]
    return out


def evaluations_matching(wh: Warehouse, key: str) -> list[dict]:
    """Evaluations whose id, or whose training run's id, starts with `key`, newest first."""
    return wh.query(f"{_EVALUATIONS} WHERE starts_with(e.evaluation_id, ?) OR starts_with(e.training_run_id, ?) "
                    "ORDER BY e.created_at DESC, e.evaluation_id", [key, key], read_only=True)


def item_outcomes(wh: Warehouse, evaluation_id: str) -> dict[str, bool]:
    """prompt_id -> passed, for one evaluation's scored answers."""
    rows = wh.query("SELECT prompt_id, passed FROM evaluation_items WHERE evaluation_id = ? ORDER BY prompt_id",
                    [evaluation_id], read_only=True)
    return {r["prompt_id"]: bool(r["passed"]) for r in rows}


def training_run_exists(wh: Warehouse, training_run_id: str) -> bool:
    return bool(wh.query("SELECT 1 FROM training_runs WHERE training_run_id = ?", [training_run_id], read_only=True))
