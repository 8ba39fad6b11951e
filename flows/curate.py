"""Stage 4: curation (quality filters, exact dedup, per-prompt cap), every drop recorded."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from warehouse.curation import curate as curate_rows
from warehouse.db import Warehouse


@task(cache_policy=NO_CACHE)
def curate(wh: Warehouse, run_id: str, max_per_prompt: int) -> dict:
    stats = curate_rows(wh, run_id, max_per_prompt=max_per_prompt).as_dict()
    get_run_logger().info("curate: %s", stats)
    return stats
