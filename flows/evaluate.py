"""Stage 7: the base student, each trained student and the teacher on the held-out prompts."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from evaluation.config import EvalConfig
from evaluation.contestants import contestants
from evaluation.evaluate import evaluate as run_eval
from flows.progress import progress_bar
from flows.report import publish_evaluation_table
from generators.teachers import TeacherConfig
from warehouse.db import Warehouse


@task(cache_policy=NO_CACHE)
def evaluate(wh: Warehouse, cfg: EvalConfig, base_model: str, training_run_ids: str | list[str] | None,
             teacher: TeacherConfig | None, run_id: str, verify_options: dict[str, dict] | None = None) -> list[dict]:
    """Rows for base, each student (`training_run_ids`: None, one id or a list, e.g. [sft_run, kd_run]) and
    the teacher, each with its `metrics`; answering, sampling and probing show progress with a rate."""
    players = contestants(wh, training_run_ids, teacher if cfg.teacher else None, base_model)
    rows = run_eval(wh, players, cfg, run_id, verify_options or {}, progress=progress_bar)
    publish_evaluation_table(wh, rows, run_id)
    for r in rows:
        get_run_logger().info("eval %-10s %d/%d = %.1f%%%s", r["role"], r["correct"], r["n"], 100 * r["accuracy"],
                              _forgetting(r["metrics"]))
    return rows


def _forgetting(m: dict) -> str:
    """', general NLL 2.53 (+0.04), truthfulqa 24% (-2), hellaswag 40% (+0)' where the probes ran."""
    parts = []
    if m.get("general_nll") is not None:
        delta = m.get("general_nll_delta")
        parts.append(f"general NLL {m['general_nll']:.3f}" + (f" ({delta:+.3f})" if delta is not None else ""))
    for probe in ("truthfulqa", "hellaswag"):
        if m.get(probe) is not None:
            delta = m.get(f"{probe}_delta")
            parts.append(f"{probe} {100 * m[probe]:.0f}%" + (f" ({100 * delta:+.0f})" if delta is not None else ""))
    return ", " + ", ".join(parts) if parts else ""
