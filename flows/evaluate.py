"""Stage 7: base student, trained student and teacher on the held-out prompts."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from evaluation.config import EvalConfig
from evaluation.contestants import contestants
from evaluation.evaluate import evaluate as run_eval
from generators.teachers import TeacherConfig
from warehouse.db import Warehouse


@task(cache_policy=NO_CACHE)
def evaluate(wh: Warehouse, cfg: EvalConfig, base_model: str, training_run_id: str | None,
             teacher: TeacherConfig | None, run_id: str, verify_options: dict[str, dict] | None = None) -> list[dict]:
    players = contestants(wh, training_run_id, teacher if cfg.teacher else None, base_model)
    rows = run_eval(wh, players, cfg, run_id, verify_options or {})
    for r in rows:
        get_run_logger().info("eval %-7s %d/%d = %.1f%%", r["role"], r["correct"], r["n"], 100 * r["accuracy"])
    return rows
