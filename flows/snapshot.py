"""Stage 5: an immutable, named, hashed snapshot of curated rows plus general data."""

from __future__ import annotations

from dataclasses import replace

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from curation.snapshot import create_snapshot
from flows.recipe import load_recipe
from flows.runs import tracked_run
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


# Named like flows/factory.py:snapshot_flow (same kind of run in Prefect's UI); that one takes a whole spec, this
# one the recipe's `snapshot:` settings and a name, which is what a deployment run is given (prefect.yaml).
@flow(name="snapshot")
def snapshot_from_recipe(name: str, recipe: str = "quickstart", warehouse: str | None = None) -> dict:
    """Freeze the curated rows under a new `name` with the recipe's `snapshot:` mix and filters (the
    `snapshot-quickstart` deployment). A name already used with other content is refused."""
    cfg = load_recipe(recipe)
    spec = replace(cfg.snapshot, name=name)
    wh = Warehouse(warehouse)
    wh.init()
    with tracked_run(wh, "snapshot", cfg.name) as run_id:
        return snapshot(wh, spec, run_id, default_name=cfg.name)
