"""Flow-run bookkeeping: every flow writes one `runs` row, completed last.

A process killed with -9 cannot mark its row; the next flow on the same host marks
rows whose process is gone as `crashed` (their data is resumed by the rerun).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from warehouse import runs
from warehouse.db import Warehouse, WarehouseLocked


def prefect_flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    return flow_run.id


@contextmanager
def tracked_run(wh: Warehouse, flow: str, recipe: str | None = None, recipe_json: dict | None = None) -> Iterator[str]:
    """Yield a run id; the row says `running` until the body finishes, then `completed` or `failed`."""
    prefect_id = prefect_flow_run_id()
    run_id = prefect_id or uuid.uuid4().hex
    mark_crashed(wh)
    runs.start_run(wh, run_id, flow, recipe=recipe, recipe_json=recipe_json, prefect_flow_run_id=prefect_id,
                   host=socket.gethostname(), pid=os.getpid())
    try:
        yield run_id
    except BaseException as exc:
        try:
            runs.fail_run(wh, run_id, f"{type(exc).__name__}: {exc}")
        except WarehouseLocked:
            pass  # the warehouse is still locked: the next flow on this host marks the row `crashed`
        raise
    runs.finish_run(wh, run_id)


def mark_crashed(wh: Warehouse) -> int:
    """Mark `running` rows of this host whose process no longer exists as `crashed`; return how many."""
    dead = [r["run_id"] for r in runs.running_on(wh, socket.gethostname()) if r["pid"] and not _alive(r["pid"])]
    for run_id in dead:
        runs.crash_run(wh, run_id)
    return len(dead)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
