"""`training_runs`: one row per (snapshot, training config); `status` running -> completed | failed."""

from __future__ import annotations

import json
from typing import Any

from warehouse.db import Warehouse


def training_run(wh: Warehouse, training_run_id: str) -> dict:
    """The `training_runs` row the student comes from; its config says whether it is a LoRA adapter."""
    rows = wh.query("SELECT * FROM training_runs WHERE training_run_id = ?", [training_run_id])
    if not rows:
        raise ValueError(f"no training run {training_run_id!r} in the warehouse")
    return rows[0]


def completed_run(wh: Warehouse, training_run_id: str) -> dict | None:
    rows = wh.query("SELECT * FROM training_runs WHERE training_run_id = ? AND status = 'completed'",
                    [training_run_id])
    return rows[0] if rows else None


def start_run(wh: Warehouse, record: dict) -> None:
    """Record a run as `running`, replacing an earlier unfinished attempt with the same id."""
    with wh.transaction() as con:
        con.execute("DELETE FROM training_runs WHERE training_run_id = ?", [record["training_run_id"]])
        wh.insert("training_runs", [record], con=con)


def fail_run(wh: Warehouse, training_run_id: str, error: str) -> None:
    wh.execute("UPDATE training_runs SET status = 'failed', metrics = ?, finished_at = now() "
               "WHERE training_run_id = ?", [_json({"error": error[:500]}), training_run_id])


def complete_run(wh: Warehouse, training_run_id: str, result: dict) -> None:
    """`result`: steps, train_loss and whatever else the method measured (stored as `metrics`)."""
    wh.execute("UPDATE training_runs SET status = 'completed', steps = ?, train_loss = ?, metrics = ?, "
               "finished_at = now() WHERE training_run_id = ?",
               [result["steps"], result["train_loss"], _json(result), training_run_id])


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
