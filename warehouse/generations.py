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

import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence

import pyarrow as pa

from warehouse.db import Warehouse, WarehouseLocked
from warehouse.journal import Journal

_FAILURE_COLUMNS = ("generation_id", "prompt_id", "teacher_id", "sample_index", "error_type", "status_code",
                    "message", "attempts", "abandoned", "abandoned_cost_usd", "run_id", "first_failed_at",
                    "last_failed_at")
_UPSERT_FAILURE = f"""
    INSERT INTO request_failures ({", ".join(_FAILURE_COLUMNS)}) VALUES ({", ".join("?" * len(_FAILURE_COLUMNS))})
    ON CONFLICT (generation_id) DO UPDATE SET
      error_type = excluded.error_type, status_code = excluded.status_code, message = excluded.message,
      attempts = request_failures.attempts + excluded.attempts, run_id = excluded.run_id,
      abandoned = request_failures.abandoned + excluded.abandoned,
      abandoned_cost_usd = request_failures.abandoned_cost_usd + excluded.abandoned_cost_usd,
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
    """Rows received but not yet inserted: journaled the moment they arrive, inserted by a writer thread.

    The caller (the loop draining a teacher) never waits for the warehouse: `add` appends to the journal
    (unless the teacher's receiving thread already did) and, every `every_s` seconds or `max_rows` rows,
    seals the journal segment and hands the rows received since the last time to the writer, which
    inserts them (waiting for the lock as long as the warehouse allows) and deletes each sealed segment
    once every row in it is committed. If the lock never comes, answers keep going to the journal and `close` raises WarehouseLocked
    saying that the next run imports them. It lives here, not in generators/, because it is the storage
    half of the journal's contract (`journal.recover` is the other half) and knows nothing of teachers.
    """

    def __init__(self, wh: Warehouse, journal: Journal, every_s: float = 1.0, max_rows: int = 256):
        self.wh, self.journal = wh, journal
        self.every_s, self.max_rows = every_s, max_rows
        self.generations: list[dict] = []
        self.logprobs: list[dict] = []
        self.failures: list[dict] = []
        self.stored = self.failed = self.received = 0
        self.failed_types: Counter[str] = Counter()  # error_type -> requests that failed their last attempt
        self.last = time.monotonic()
        self.error: BaseException | None = None
        self._batches: queue.Queue = queue.Queue()
        self._writer = threading.Thread(target=self._write_batches, name="warehouse-writer", daemon=True)
        self._writer.start()

    def add(self, generations: list[dict], logprobs: list[dict], failures: list[dict], journaled: bool = False
            ) -> None:
        """Take rows received; `journaled`: the teacher's receiving thread has already written them to the
        journal (openai), else they are written now."""
        if journaled:
            self.journal.sync_if_due()
        else:
            self.journal.append("generations", generations)
            self.journal.append("generation_logprobs", logprobs)
        self.received += len(generations)
        self.generations += generations
        self.logprobs += logprobs
        self.failures += failures
        if len(self.generations) + len(self.failures) >= self.max_rows or time.monotonic() - self.last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        """Hand what was received since the last flush to the writer (it does not wait for the insert)."""
        if self.generations or self.logprobs or self.failures:
            self._batches.put((self.journal.seal(), self.generations, self.logprobs, self.failures))
        self.generations, self.logprobs, self.failures = [], [], []
        self.last = time.monotonic()

    def close(self) -> None:
        """Flush, wait until the writer has inserted everything, and raise its error if it had one."""
        self.flush()
        self._batches.put(None)
        self._writer.join()
        if self.error is not None:
            raise WarehouseLocked(f"{self.error} The {self.received} answers received in this run are safe in "
                                  f"the journal {self.journal.folder}: the next run imports them before asking "
                                  f"the teacher for anything.") from self.error

    def _write_batches(self) -> None:
        """Insert batches in order; delete each sealed journal segment once every row in it is committed (a
        segment may hold answers journaled on arrival that belong to the next batch)."""
        waiting: list = []  # sealed segments not deleted yet
        committed: set[str] = set()
        while (batch := self._batches.get()) is not None:
            segment, generations, logprobs, failures = batch
            waiting.append(segment)
            if self.error is None:
                try:
                    self.stored += store_batch(self.wh, generations, logprobs, failures)
                except WarehouseLocked as exc:
                    self.error = exc
            if self.error is not None:
                continue
            self.failed += len(failures)
            self.failed_types.update(f["error_type"] for f in failures)
            committed.update(g["generation_id"] for g in generations)
            for seg in [seg for seg in waiting if seg.keys <= committed]:
                self.journal.discard(seg)
                waiting.remove(seg)
        for seg in waiting:  # not all committed (the warehouse could not be reached): kept for the next run
            seg.release()
