"""Stage 4: curation (quality filters, decontamination, exact and near dedup, per-prompt cap), every drop
recorded with its reason (curation/curate.py)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from curation.config import CurationConfig
from curation.curate import curate as curate_rows
from warehouse.db import Warehouse


@task(cache_policy=NO_CACHE)
def curate(wh: Warehouse, run_id: str, config: CurationConfig) -> dict:
    stats = curate_rows(wh, run_id, config).as_dict()
    get_run_logger().info("curate: %s", stats)
    return stats
