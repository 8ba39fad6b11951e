"""The one connection factory for the DuckDB warehouse, plus batched writes.

DuckDB lets one process hold a read-write file at a time; a second process,
even a read-only one, gets "Could not set lock on file". Flows therefore open a
connection per unit of work and close it at once, and every open retries on the
lock with backoff, so `distill sql` can read while a flow is writing. After
`lock_timeout_s` the caller gets `WarehouseLocked`, a message, not a traceback.

Writes go through Arrow tables (`insert`), ~100x faster than executemany on a
file database, and use INSERT OR IGNORE on primary keys so that re-running a
stage after a crash never duplicates a row.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from warehouse import migrations
from warehouse.transaction import transaction

DEFAULT_PATH = "warehouse.duckdb"
LOCK_REPORT_EVERY_S = 10.0  # while waiting for the lock, a progress line this often
log = logging.getLogger(__name__)


class WarehouseLocked(RuntimeError):
    pass


def default_lock_timeout_s() -> float:
    """How long a writer waits for the lock: $DISTILL_LOCK_TIMEOUT_S seconds, 60 by default. Answers keep
    arriving into the journal meanwhile (warehouse/journal.py), so a long wait loses nothing."""
    return float(os.environ.get("DISTILL_LOCK_TIMEOUT_S", 60))


def default_path() -> Path:
    return Path(os.environ.get("DISTILL_WAREHOUSE", DEFAULT_PATH))


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


class Warehouse:
    """A DuckDB file with the project's schema; every method opens and closes its own connection."""

    def __init__(self, path: str | Path | None = None, lock_timeout_s: float | None = None):
        self.path = str(path or default_path())
        self.lock_timeout_s = lock_timeout_s if lock_timeout_s is not None else default_lock_timeout_s()
        self._json_columns: dict[str, set[str]] = {}

    def init(self) -> list[str]:
        """Create the file if needed and apply pending migrations."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            return migrations.apply(con)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if read_only and not Path(self.path).exists():
            raise FileNotFoundError(f"no warehouse at {self.path}: run `distill init` or a flow first")
        con = self._open(read_only)
        try:
            yield con
        finally:
            con.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_s
        delay, next_report = 0.05, LOCK_REPORT_EVERY_S
        while True:
            try:
                return duckdb.connect(self.path, read_only=read_only)
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise
                waited = time.monotonic() - (deadline - self.lock_timeout_s)
                if waited >= next_report:
                    log.warning("waiting for the warehouse lock on %s (held by another process): %.0fs of %.0fs",
                                self.path, waited, self.lock_timeout_s)
                    next_report += LOCK_REPORT_EVERY_S
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(
                        f"warehouse {self.path} is locked by another process (retried for "
                        f"{self.lock_timeout_s:.0f}s). Wait for the running flow to finish, or "
                        f"stop the process holding it; `distill sql` retries while flows write."
                    ) from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection and one transaction: committed when the body returns, rolled back if it raises."""
        with self.connect() as con, transaction(con):
            yield con

    def query(self, sql: str, params: Sequence[Any] | None = None, read_only: bool = False) -> list[dict]:
        with self.connect(read_only=read_only) as con:
            cur = con.execute(sql, params or [])
            cols = [d[0] for d in cur.description] if cur.description else []
            return [dict(zip(cols, row)) for row in cur.fetchall()]

    def query_each(self, sql: str, read_only: bool = True) -> list[tuple[list[str], list[tuple]]]:
        """Every statement of `sql`, in order on one connection: its column names (kept when there are no
        rows, unlike `query`) and its rows. For `distill sql`, which shows each result."""
        with self.connect(read_only=read_only) as con:
            out = []
            for statement in con.extract_statements(sql):
                cur = con.execute(statement)
                out.append(([d[0] for d in cur.description] if cur.description else [], cur.fetchall()))
            return out

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self.connect() as con:
            rows = con.execute(sql, params or []).fetchall()
            return rows[0][0] if rows else None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.connect() as con:
            con.execute(sql, params or [])

    def insert(self, table: str, rows: Sequence[dict], con: duckdb.DuckDBPyConnection | None = None) -> int:
        """Insert rows in one Arrow batch, ignoring rows whose primary key exists; return rows inserted."""
        if not rows:
            return 0
        if con is not None:
            return self._insert(con, table, rows)
        with self.connect() as own:
            return self._insert(own, table, rows)

    def _insert(self, con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[dict]) -> int:
        if table not in self._json_columns:
            self._json_columns[table] = {name for name, kind in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
                [table]).fetchall() if kind == "JSON"}
        json_cols = self._json_columns[table]
        columns = list(dict.fromkeys(k for r in rows for k in r))  # a key missing from a row is NULL there
        encoded = [{k: json.dumps(v, sort_keys=True) if k in json_cols and isinstance(v, (dict, list)) else v
                    for k in columns for v in [r.get(k)]} for r in rows]
        return _insert_batch(con, table, pa.Table.from_pylist(encoded))


def _insert_batch(con: duckdb.DuckDBPyConnection, table: str, batch: pa.Table) -> int:
    cols = ", ".join(batch.column_names)
    before = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    con.register("_batch", batch)
    try:
        con.execute(f"INSERT OR IGNORE INTO {table} ({cols}) SELECT {cols} FROM _batch")
    finally:
        con.unregister("_batch")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] - before
