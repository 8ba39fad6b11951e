"""Stage 5: an immutable, named, hashed snapshot of curated rows plus general data."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from training.config import SnapshotSpec
from warehouse.db import Warehouse
from warehouse.snapshots import create_snapshot


@task(cache_policy=NO_CACHE)
def snapshot(wh: Warehouse, spec: SnapshotSpec, run_id: str, default_name: str) -> dict:
    snap = create_snapshot(wh, spec, run_id, default_name=default_name)
    get_run_logger().info("snapshot %s: %d distilled + %d general rows (%s)", snap["name"], snap["n_distilled"],
                          snap["n_general"], "new" if snap["created"] else "existing, identical")
    return snap
