"""Stage 5: an immutable, named, hashed snapshot of curated rows plus general data."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from curation.snapshot import create_snapshot
from warehouse.db import Warehouse
from warehouse.snapshot_spec import SnapshotSpec

_FILTERS = ("domains", "templates", "teachers", "since", "until", "min_agreement", "verified_only")
_DEFAULTS = SnapshotSpec().to_dict()


@task(cache_policy=NO_CACHE)
def snapshot(wh: Warehouse, spec: SnapshotSpec, run_id: str, default_name: str) -> dict:
    snap = create_snapshot(wh, spec, run_id, default_name=default_name)
    filters = {k: v for k, v in spec.to_dict().items() if k in _FILTERS and v != _DEFAULTS[k]}
    get_run_logger().info("snapshot %s: %d distilled + %d general rows (%s)%s", snap["name"], snap["n_distilled"],
                          snap["n_general"], "new" if snap["created"] else "existing, identical",
                          f", filters {filters}" if filters else "")
    return snap
