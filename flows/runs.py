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

from warehouse.db import Warehouse
from warehouse.ids import now


def prefect_flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    return flow_run.id


@contextmanager
def tracked_run(wh: Warehouse, flow: str, recipe: str | None = None, recipe_json: dict | None = None) -> Iterator[str]:
    """Yield a run id; the row says `running` until the body finishes, then `completed` or `failed`."""
    prefect_id = prefect_flow_run_id()
    run_id = prefect_id or uuid.uuid4().hex
    mark_crashed(wh)
    wh.insert("runs", [{"run_id": run_id, "flow": flow, "recipe": recipe, "recipe_json": recipe_json,
                        "prefect_flow_run_id": prefect_id, "status": "running", "started_at": now(),
                        "host": socket.gethostname(), "pid": os.getpid()}])
    try:
        yield run_id
    except BaseException as exc:
        wh.execute("UPDATE runs SET status = 'failed', error = ?, finished_at = now() WHERE run_id = ?",
                   [f"{type(exc).__name__}: {exc}"[:2000], run_id])
        raise
    wh.execute("UPDATE runs SET status = 'completed', finished_at = now() WHERE run_id = ?", [run_id])


def mark_crashed(wh: Warehouse) -> int:
    """Mark `running` rows of this host whose process no longer exists as `crashed`; return how many."""
    host = socket.gethostname()
    dead = [r["run_id"] for r in wh.query("SELECT run_id, pid FROM runs WHERE status = 'running' AND host = ?",
                                          [host]) if r["pid"] and not _alive(r["pid"])]
    for run_id in dead:
        wh.execute("UPDATE runs SET status = 'crashed', error = 'the process ended without finishing the run "
                   "(killed?); a rerun resumes its data', finished_at = now() WHERE run_id = ?", [run_id])
    return len(dead)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
