"""A spill file for rows received but not yet committed, so a kill -9 never costs a paid answer.

Teacher responses arrive one by one; writing each to DuckDB at once would be slow
(a transaction per row), and holding them for a batched insert loses them if the
process dies. So each arriving row is appended to a JSON-lines journal beside the
warehouse (`<warehouse>.journal/<run_id>.jsonl`, flushed to the OS per batch,
which survives a killed process, not a power cut), rows are inserted in batches,
and the journal is emptied after each committed batch.

The next run replays every journal no live process holds (each writer keeps an
exclusive `flock` on its file) with INSERT OR IGNORE, then deletes it. A row is
therefore stored exactly once whether the process died before the insert, during
it, or after it.
"""

from __future__ import annotations

import fcntl
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from warehouse.db import Warehouse

# replay order: parents first
TABLES = ("generations", "generation_logprobs")


def journal_dir(wh: Warehouse) -> Path:
    return Path(f"{wh.path}.journal")


class Journal:
    def __init__(self, wh: Warehouse, name: str):
        folder = journal_dir(wh)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{name}.jsonl"
        self._file = self.path.open("a", encoding="utf-8")
        fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def append(self, table: str, rows: list[dict]) -> None:
        self._file.write("".join(json.dumps({"table": table, "row": r}, default=_iso) + "\n" for r in rows))
        self._file.flush()

    def clear(self) -> None:
        """Everything appended so far is committed to the warehouse."""
        self._file.truncate(0)

    def close(self) -> None:
        self._file.close()
        if self.path.stat().st_size == 0:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def recover(wh: Warehouse) -> dict[str, int]:
    """Insert the rows of every journal left by a dead process; return rows newly stored per table."""
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
