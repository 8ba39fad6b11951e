"""Flow-run bookkeeping: every flow writes one `runs` row, completed last."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from warehouse.db import Warehouse, now


def prefect_flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    return flow_run.id


@contextmanager
def tracked_run(wh: Warehouse, flow: str, recipe: str | None = None, recipe_json: dict | None = None) -> Iterator[str]:
    """Yield a run id; the row says `running` until the body finishes, then `completed` or `failed`."""
    prefect_id = prefect_flow_run_id()
    run_id = prefect_id or uuid.uuid4().hex
    wh.insert("runs", [{"run_id": run_id, "flow": flow, "recipe": recipe, "recipe_json": recipe_json,
                        "prefect_flow_run_id": prefect_id, "status": "running", "started_at": now()}])
    try:
        yield run_id
    except BaseException as exc:
        wh.execute("UPDATE runs SET status = 'failed', error = ?, finished_at = now() WHERE run_id = ?",
                   [f"{type(exc).__name__}: {exc}"[:2000], run_id])
        raise
    wh.execute("UPDATE runs SET status = 'completed', finished_at = now() WHERE run_id = ?", [run_id])
