"""The expected failures the CLI reports as one-line messages (exit code 2) instead of tracebacks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import duckdb
import typer
from rich.console import Console

from generators.seeds import InputError
from warehouse.db import WarehouseLocked
from warehouse.lease import LeaseHeld
from warehouse.snapshots import SnapshotError

EXPECTED: tuple[type[BaseException], ...] = (InputError, WarehouseLocked, LeaseHeld, SnapshotError, FileNotFoundError,
                                             duckdb.Error)
_stderr = Console(stderr=True)


def friendly(fn: Callable) -> Callable:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EXPECTED as exc:
            _stderr.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
    return wrapper
