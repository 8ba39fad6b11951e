"""Stage 6: train the student on one snapshot with the recipe's method (training/methods/; SFT by default).

While it trains, each logged step is a log line (step / total, loss, rate, eta) and, inside a flow run, a Prefect
progress artifact; afterwards the loss curve becomes a Prefect table artifact (`loss-curve-<training run id>`):
one row per logged step, and a sparkline of the loss in its description.
"""

from __future__ import annotations

import json

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from training.config import TrainConfig
from training.run import train as train_student
from warehouse.db import Warehouse

SPARKS = "▁▂▃▄▅▆▇█"
CURVE_FIELDS = ("step", "epoch", "loss", "learning_rate", "grad_norm")


@task(cache_policy=NO_CACHE)
def train(wh: Warehouse, snapshot: str, cfg: TrainConfig, run_id: str) -> dict:
    result = train_student(wh, snapshot, cfg, run_id, callbacks=(progress_callback(cfg.method),))
    if result.get("kd_coverage"):  # kd source stored: what the stored top-k covered (counted before training)
        get_run_logger().info("train %s: %s", result["training_run_id"], result["kd_coverage"])
    get_run_logger().info("train %s: %s steps, loss %.4f%s", result["training_run_id"], result["steps"],
                          result["train_loss"] or float("nan"), " (reused)" if result["reused"] else "")
    publish_loss_curve(result)
    return result


def progress_callback(method: str):
    """A transformers TrainerCallback that reports each logged step to the run's logger and, inside a flow run,
    to a Prefect progress artifact (percent of the steps done)."""
    import time

    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def __init__(self) -> None:
            self.began, self.artifact = time.perf_counter(), None

        def on_train_begin(self, args, state, control, **kwargs):
            from prefect.context import FlowRunContext

            if FlowRunContext.get() is not None:
                from prefect.artifacts import create_progress_artifact

                self.artifact = create_progress_artifact(0.0, description=f"training ({method}): steps done")

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs or not state.max_steps:
                return
            elapsed = time.perf_counter() - self.began
            rate = state.global_step / elapsed if elapsed else 0.0
            eta = (state.max_steps - state.global_step) / rate if rate else float("nan")
            get_run_logger().info("train %s: step %d/%d, loss %.4f, %.2f steps/s, %.0fs elapsed, eta %.0fs",
                                  method, state.global_step, state.max_steps, logs["loss"], rate, elapsed, eta)
            if self.artifact is not None:
                from prefect.artifacts import update_progress_artifact

                update_progress_artifact(self.artifact, 100.0 * state.global_step / state.max_steps)

    return Progress()


def loss_curve(result: dict) -> list[dict]:
    """The logged training steps (those with a `loss`) of a run's log history; a reused run has it in `metrics`."""
    history = result.get("log_history")
    if history is None and result.get("metrics"):
        metrics = result["metrics"]
        history = (json.loads(metrics) if isinstance(metrics, str) else metrics).get("log_history")
    return [{k: h.get(k) for k in CURVE_FIELDS} for h in history or [] if h.get("loss") is not None]


def sparkline(values: list[float]) -> str:
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARKS[round((v - low) / span * (len(SPARKS) - 1))] for v in values)


def publish_loss_curve(result: dict) -> str | None:
    """The loss curve as a table artifact of the current flow run; returns its key (None outside a run, or
    when nothing was logged)."""
    from prefect.context import FlowRunContext

    rows = loss_curve(result)
    if not rows or FlowRunContext.get() is None:
        return None
    from prefect.artifacts import create_table_artifact

    key = f"loss-curve-{result['training_run_id']}".lower()
    losses = [r["loss"] for r in rows]
    config = result.get("config") or {}
    method = (json.loads(config) if isinstance(config, str) else config).get("method")
    create_table_artifact(table=rows, key=key, description=(
        f"Training loss of run {result['training_run_id']}{f' ({method})' if method else ''}: "
        f"{losses[0]:.4f} -> {losses[-1]:.4f}, {len(rows)} logged steps up to step {rows[-1]['step']}  "
        f"{sparkline(losses)}"))
    return key
