"""A spill file for rows received but not yet committed, so a kill -9 never costs a paid answer.

Teacher responses arrive one by one; writing each to DuckDB at once would be slow
(a transaction per row), and holding them for a batched insert loses them if the
process dies or waits for the warehouse lock. So each arriving row is appended to
a JSON-lines journal beside the warehouse (`<warehouse>.journal/<run_id>.jsonl`)
the moment it arrives: written to the OS at once (which survives a killed process)
and fsynced at most `sync_every_s` later or every `sync_every_n` rows (which
survives a power cut). Rows are inserted in batches by a writer that may wait for
the lock while new answers keep arriving, so the journal is cut into segments:
`seal()` closes the current one and starts the next (`<run_id>.<random>.jsonl`);
`discard(segment)` deletes it once every row in it is committed. A teacher that
answers on its own thread (openai) appends each answer from the task that received
it, so an answer is on disk before the loop that stores it has even seen it.

The next run replays every segment no live process holds (each writer keeps an
exclusive `flock` on its segments until it discards them) with INSERT OR IGNORE,
then deletes it. A row is therefore stored exactly once whether the process died
before the insert, during it, or after it.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import IO

from warehouse.db import Warehouse

# replay order: parents first
TABLES = ("generations", "generation_logprobs")


def journal_dir(wh: Warehouse) -> Path:
    return Path(f"{wh.path}.journal")


class Segment:
    """One journal file, locked by this process while it is open; `keys` are the generation ids it holds."""

    def __init__(self, path: Path):
        self.path = path
        self.file: IO[str] = path.open("a", encoding="utf-8")
        fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.rows = 0
        self.keys: set[str] = set()

    def release(self) -> None:
        """Unlock the file and leave it for the next run to replay (even from this process)."""
        self.file.close()

    def close(self) -> None:
        """Release the lock, leaving the file for the next run to replay (or deleting it if it is empty)."""
        self.release()
        if self.rows == 0 and self.path.stat().st_size == 0:
            self.path.unlink(missing_ok=True)


class Journal:
    def __init__(self, wh: Warehouse, name: str, sync_every_s: float = 0.05, sync_every_n: int = 64):
        self.folder = journal_dir(wh)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.sync_every_s, self.sync_every_n = sync_every_s, sync_every_n
        first = self.folder / f"{name}.jsonl"
        self.current = Segment(first if not first.exists() else self._next_path())
        self._unsynced, self._synced_at = 0, time.monotonic()
        self._lock = threading.Lock()

    def append(self, table: str, rows: list[dict], sync: bool = True) -> None:
        """Write rows at once (thread-safe: a teacher's receiving thread may call it, with `sync=False` so
        that an fsync never stalls its event loop; `sync_if_due` then runs from the consumer)."""
        if not rows:
            return
        text = "".join(json.dumps({"table": table, "row": r}, default=_iso) + "\n" for r in rows)
        with self._lock:
            self.current.file.write(text)
            self.current.file.flush()  # in the OS now: a killed process loses nothing
            self.current.rows += len(rows)
            self.current.keys.update(r["generation_id"] for r in rows if "generation_id" in r)
            self._unsynced += len(rows)
            if sync:
                self._sync_if_due()

    def sync_if_due(self) -> None:
        """fsync if `sync_every_n` rows or `sync_every_s` seconds have passed since the last one."""
        with self._lock:
            self._sync_if_due()

    def _sync_if_due(self) -> None:
        if self._unsynced >= self.sync_every_n or time.monotonic() - self._synced_at >= self.sync_every_s:
            self._sync()

    def sync(self) -> None:
        """fsync the current segment: on disk, not only in the OS's cache."""
        with self._lock:
            self._sync()

    def _sync(self) -> None:
        if self._unsynced:
            os.fsync(self.current.file.fileno())
        self._unsynced, self._synced_at = 0, time.monotonic()

    def seal(self) -> Segment:
        """Close the current segment to appends (its lock stays held) and start the next; return the sealed one.
        It may hold rows appended after the caller's last batch was cut: delete it only once every key in it
        is committed (`Segment.keys`)."""
        with self._lock:
            self._sync()
            sealed = self.current
            self.current = Segment(self._next_path())
            return sealed

    def _next_path(self) -> Path:
        """A segment name no other journal of this run uses (a run asks several teachers, each with a journal)."""
        return self.folder / f"{self.name}.{uuid.uuid4().hex[:12]}.jsonl"

    @staticmethod
    def discard(segment: Segment) -> None:
        """Every row of `segment` is committed to the warehouse: delete it."""
        segment.path.unlink(missing_ok=True)
        segment.file.close()

    def clear(self) -> None:
        """Everything appended to the current segment so far is committed to the warehouse."""
        self.current.file.truncate(0)
        self.current.rows = 0

    def close(self) -> None:
        self.sync()
        self.current.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def recover(wh: Warehouse) -> dict[str, int]:
    """Insert the rows of every journal segment left by a dead process; return rows newly stored per table."""
    stored: dict[str, int] = defaultdict(int)
    folder = journal_dir(wh)
    for path in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
        with path.open("r+", encoding="utf-8") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live run owns it
            rows = defaultdict(list)
            for line in f:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the line being written when the process died
                rows[entry["table"]].append(_parse_times(entry["row"]))
            for table in TABLES:
                if rows[table]:
                    stored[table] += wh.insert(table, rows[table])
            path.unlink()
    return dict(stored)


def _iso(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot journal {type(value).__name__}")


def _parse_times(row: dict) -> dict:
    return {k: datetime.fromisoformat(v) if k.endswith("_at") and isinstance(v, str) else v for k, v in row.items()}
