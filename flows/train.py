"""Stage 6: train the student on one snapshot with the recipe's method (training/methods/; SFT by default).

Inside a flow run the loss curve becomes a Prefect table artifact (`loss-curve-<training run id>`): one row per
logged step, and a sparkline of the loss in its description.
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
    result = train_student(wh, snapshot, cfg, run_id)
    get_run_logger().info("train %s: %s steps, loss %.4f%s", result["training_run_id"], result["steps"],
                          result["train_loss"] or float("nan"), " (reused)" if result["reused"] else "")
    publish_loss_curve(result)
    return result


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
