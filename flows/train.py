"""Stage 6: train the student on one snapshot with the recipe's method (training/methods/; SFT by default)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from training.config import TrainConfig
from training.run import train as train_student
from warehouse.db import Warehouse


@task(cache_policy=NO_CACHE)
def train(wh: Warehouse, snapshot: str, cfg: TrainConfig, run_id: str) -> dict:
    result = train_student(wh, snapshot, cfg, run_id)
    get_run_logger().info("train %s: %s steps, loss %.4f%s", result["training_run_id"], result["steps"],
                          result["train_loss"] or float("nan"), " (reused)" if result["reused"] else "")
    return result
