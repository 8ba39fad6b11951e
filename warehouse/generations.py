"""Inputs and teacher answers: `seeds`, `templates`, `prompts`, `teachers`, `generations`,
`generation_logprobs` and `request_failures`.

Idempotent by construction: a generation's id is hash(prompt, teacher config,
sample index), so a rerun (after a crash, a kill or on schedule) asks `missing`
which of the ids it would request the warehouse lacks, and requests exactly
those. `PendingWrites` appends each answer to a journal the moment it arrives and
inserts it with its batch (every second or 256 rows), so a kill -9 loses nothing
that was received (see warehouse/journal.py). Requests that failed their last
attempt are recorded in `request_failures`; they have no generation row, so
they are pending again for the next run, and a later answer resolves them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

import pyarrow as pa

from warehouse.db import Warehouse
from warehouse.journal import Journal

_FAILURE_COLUMNS = ("generation_id", "prompt_id", "teacher_id", "sample_index", "error_type", "status_code",
                    "message", "attempts", "run_id", "first_failed_at", "last_failed_at")
_UPSERT_FAILURE = f"""
    INSERT INTO request_failures ({", ".join(_FAILURE_COLUMNS)}) VALUES ({", ".join("?" * len(_FAILURE_COLUMNS))})
    ON CONFLICT (generation_id) DO UPDATE SET
      error_type = excluded.error_type, status_code = excluded.status_code, message = excluded.message,
      attempts = request_failures.attempts + excluded.attempts, run_id = excluded.run_id,
      last_failed_at = excluded.last_failed_at, resolved_at = NULL
"""
_RESOLVE_FAILURES = """UPDATE request_failures SET resolved_at = now()
                       WHERE resolved_at IS NULL AND generation_id IN (SELECT unnest(?))"""
# The candidates are an Arrow table registered on the connection, anti-joined in DuckDB: memory scales with
# the request, not with the warehouse.
_MISSING = """SELECT DISTINCT c.generation_id FROM _candidates c
              ANTI JOIN generations g ON g.generation_id = c.generation_id"""


def register_inputs(wh: Warehouse, seeds: list[dict], templates: list[dict], prompts: list[dict]) -> dict[str, int]:
    """Store seed, template and prompt rows in one transaction (existing ids are left as they are);
    return the rows newly stored per table."""
    with wh.transaction() as con:
        return {"seeds": wh.insert("seeds", seeds, con=con), "templates": wh.insert("templates", templates, con=con),
                "prompts": wh.insert("prompts", prompts, con=con)}


def record_teacher(wh: Warehouse, row: dict) -> None:
    """Store a teacher config row (`TeacherConfig.to_row()` plus `created_at`) unless its id is stored."""
    wh.insert("teachers", [row])


def missing(wh: Warehouse, generation_ids: Sequence[str]) -> set[str]:
    """The ids among `generation_ids` that have no generation row yet."""
    if not generation_ids:
        return set()
    with wh.connect() as con:
        con.register("_candidates", pa.table({"generation_id": pa.array(generation_ids, pa.string())}))
        try:
            return {gid for (gid,) in con.execute(_MISSING).fetchall()}
        finally:
            con.unregister("_candidates")


def store_batch(wh: Warehouse, generations: list[dict], logprobs: list[dict], failures: list[dict]) -> int:
    """In one transaction: insert generations and their logprobs, resolve the failures they answer, and
    upsert new failures (attempts add up). Returns the generations newly stored."""
    with wh.transaction() as con:
        stored = wh.insert("generations", generations, con=con)
        wh.insert("generation_logprobs", logprobs, con=con)
        if generations:
            con.execute(_RESOLVE_FAILURES, [[g["generation_id"] for g in generations]])
        for f in failures:
            con.execute(_UPSERT_FAILURE, [f[k] for k in _FAILURE_COLUMNS])
    return stored


class PendingWrites:
    """Rows received but not yet inserted: journaled at once, inserted every second or 256 rows.

    It lives here, not in generators/, because it is the storage half of the journal's contract (append
    before insert, clear after commit; `journal.recover` is the other half) and knows nothing of teachers.
    """

    def __init__(self, wh: Warehouse, journal: Journal, every_s: float = 1.0, max_rows: int = 256):
        self.wh, self.journal = wh, journal
        self.every_s, self.max_rows = every_s, max_rows
        self.generations: list[dict] = []
        self.logprobs: list[dict] = []
        self.failures: list[dict] = []
        self.stored = self.failed = 0
        self.failed_types: Counter[str] = Counter()  # error_type -> requests that failed their last attempt
        self.last = time.monotonic()

    def add(self, generations: list[dict], logprobs: list[dict], failures: list[dict]) -> None:
        self.journal.append("generations", generations)
        self.journal.append("generation_logprobs", logprobs)
        self.generations += generations
        self.logprobs += logprobs
        self.failures += failures
        if len(self.generations) + len(self.failures) >= self.max_rows or time.monotonic() - self.last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        self.stored += store_batch(self.wh, self.generations, self.logprobs, self.failures)
        self.failed += len(self.failures)
        self.failed_types.update(f["error_type"] for f in self.failures)
        self.journal.clear()
        self.generations, self.logprobs, self.failures = [], [], []
        self.last = time.monotonic()
