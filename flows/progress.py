"""A rich progress bar for long stages: done/total, rate, elapsed and remaining time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[..., None]]:
    """Yield `advance(n, tokens=None)`; `tokens` (cumulative) adds a tokens/s readout."""
    columns = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[extra]}"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns, transient=False) as bar:
        task_id = bar.add_task(label, total=total, extra="")

        def advance(n: int, tokens: int | None = None) -> None:
            bar.advance(task_id, n)
            elapsed = bar.tasks[0].elapsed or 1e-9
            if tokens is not None:
                bar.update(task_id, extra=f"{tokens / elapsed:.0f} tok/s")

        yield advance
