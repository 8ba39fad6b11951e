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


# --- reads for `distill runs` and `distill teachers` (read-only: they never create or lock a file for long) ---

_LIST = """
    SELECT run_id, flow, recipe, status, started_at, finished_at,
           round(epoch(coalesce(finished_at, now()::TIMESTAMP) - started_at), 1) AS duration_s
    FROM runs ORDER BY started_at DESC LIMIT ?"""
_MATCH = "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id LIMIT 5"
_ONE = """SELECT run_id, flow, recipe, status, error, started_at, finished_at,
                 round(epoch(coalesce(finished_at, now()::TIMESTAMP) - started_at), 1) AS duration_s,
                 prefect_flow_run_id, host, pid, recipe_json
          FROM runs WHERE run_id = ?"""
# the tables a run writes to, counted by the run_id column each carries
PRODUCED = ("seeds", "prompts", "generations", "verifications", "rejections", "curated", "snapshots",
            "training_runs", "evaluations", "request_failures")
_FAILURES = """SELECT error_type, count(*) AS requests, sum(attempts) AS attempts,
                      count(*) FILTER (WHERE resolved_at IS NULL) AS pending, any_value(message) AS example
               FROM request_failures WHERE run_id = ? GROUP BY error_type ORDER BY requests DESC"""
_TEACHERS = """
    SELECT t.teacher_id, t.backend, t.model, t.params, count(g.generation_id) AS generations,
           round(avg(v.passed::INT), 3) AS verified_rate,
           sum(g.prompt_tokens) AS prompt_tokens, sum(g.completion_tokens) AS completion_tokens,
           round(sum(g.cost_usd), 6) AS cost_usd,
           count(l.token_ids) AS with_topk_ids     -- generations kd `source: stored` can train on
    FROM teachers t
    LEFT JOIN generations g USING (teacher_id)
    LEFT JOIN generation_logprobs l USING (generation_id)
    LEFT JOIN (SELECT generation_id, bool_and(passed) AS passed FROM verifications GROUP BY ALL) v USING (generation_id)
    GROUP BY ALL ORDER BY generations DESC, t.teacher_id"""


class RunNotFound(LookupError):
    pass


def list_runs(wh: Warehouse, limit: int = 20) -> list[dict]:
    """The `limit` latest runs, newest first: id, flow, recipe, status, start, end and seconds taken (so far)."""
    return wh.query(_LIST, [limit], read_only=True)


def find_run(wh: Warehouse, prefix: str) -> str:
    """The run id that `prefix` starts; RunNotFound names the problem (none, or several)."""
    ids = [r["run_id"] for r in wh.query(_MATCH, [prefix], read_only=True)]
    if len(ids) != 1:
        raise RunNotFound(f"{'no run' if not ids else 'several runs'} with an id starting {prefix!r}"
                          + (f" ({', '.join(ids)}{', ...' if len(ids) == 5 else ''})" if ids else ""))
    return ids[0]


def run_detail(wh: Warehouse, prefix: str) -> dict:
    """One run (`prefix`: its id or a unique prefix): its row, the rows it wrote per table, and its request
    failures per error type."""
    run_id = find_run(wh, prefix)
    with wh.connect(read_only=True) as con:
        run = _dicts(con.execute(_ONE, [run_id]))[0]
        produced = {t: con.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", [run_id]).fetchone()[0]
                    for t in PRODUCED}
        failures = _dicts(con.execute(_FAILURES, [run_id]))
    return {"run": run, "produced": produced, "failures": failures}


def teacher_stats(wh: Warehouse) -> list[dict]:
    """Every teacher config: backend, model, sampling params, generations, verified rate (of those verified),
    tokens, cost, and how many generations stored top-k token ids."""
    return wh.query(_TEACHERS, read_only=True)


def _dicts(cur) -> list[dict]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]


_MEAN_COMPLETION = """SELECT teacher_id, avg(completion_tokens) AS mean_tokens FROM generations
                      WHERE teacher_id IN (SELECT unnest(?)) AND completion_tokens IS NOT NULL GROUP BY ALL"""


def mean_completion_tokens(wh: Warehouse, teacher_ids: list[str]) -> dict[str, float]:
    """Per teacher id, the mean completion tokens of its stored generations (teachers with none are absent):
    the expected length of a new answer, for a spend forecast."""
    return {r["teacher_id"]: r["mean_tokens"] for r in wh.query(_MEAN_COMPLETION, [teacher_ids], read_only=True)}
