"""`transaction(con)`: BEGIN ... COMMIT around a block, ROLLBACK if it raises (used by db.py and migrations.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT around the body; ROLLBACK if it raises, so a failed batch leaves nothing behind."""
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
