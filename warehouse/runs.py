"""The `runs` table: one row per flow run, written `running` at the start and closed when the run ends.

Flows call these through `flows/runs.py:tracked_run`; the statuses are `running`, `completed`, `failed`
and `crashed` (a process that ended without closing its row, found by the next run on the same host).
"""

from __future__ import annotations

from warehouse.db import Warehouse
from warehouse.ids import now

CRASHED_ERROR = "the process ended without finishing the run (killed?); a rerun resumes its data"


def start_run(wh: Warehouse, run_id: str, flow: str, *, recipe: str | None = None, recipe_json: dict | None = None,
              prefect_flow_run_id: str | None = None, host: str | None = None, pid: int | None = None) -> None:
    """Write the run's row as `running`; host and pid let a later run tell whether its process still lives."""
    wh.insert("runs", [{"run_id": run_id, "flow": flow, "recipe": recipe, "recipe_json": recipe_json,
                        "prefect_flow_run_id": prefect_flow_run_id, "status": "running", "started_at": now(),
                        "host": host, "pid": pid}])


def finish_run(wh: Warehouse, run_id: str) -> None:
    """The body returned: the run is `completed`."""
    wh.execute("UPDATE runs SET status = 'completed', finished_at = now() WHERE run_id = ?", [run_id])


def fail_run(wh: Warehouse, run_id: str, error: str) -> None:
    """The body raised: the run is `failed`, with the error (cut to 2,000 characters, a traceback can be huge)."""
    wh.execute("UPDATE runs SET status = 'failed', error = ?, finished_at = now() WHERE run_id = ?",
               [error[:2000], run_id])


def running_on(wh: Warehouse, host: str) -> list[dict]:
    """`running` rows of one host ({run_id, pid}): the candidates for `crash_run` once their process is gone."""
    return wh.query("SELECT run_id, pid FROM runs WHERE status = 'running' AND host = ?", [host])


def crash_run(wh: Warehouse, run_id: str) -> None:
    """Mark a run whose process is gone as `crashed`; its data is resumed by the next run, not lost."""
    wh.execute("UPDATE runs SET status = 'crashed', error = ?, finished_at = now() WHERE run_id = ?",
               [CRASHED_ERROR, run_id])
