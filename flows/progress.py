"""Progress for long stages: a live rich bar on a terminal, periodic log lines otherwise.

Rich draws nothing until the end when stdout is a file or a pipe (CI, a
scheduled run), so there the same figures go to the log every `every_s` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def progress_bar(label: str, total: int, every_s: float = 20.0) -> Iterator[Callable[..., None]]:
    """Yield `advance(n, tokens=None)`; `tokens` (cumulative) adds a tokens/s readout."""
    if not Console().is_terminal:
        yield _log_lines(label, total, every_s)
        return
    columns = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[extra]}"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns) as bar:
        task_id = bar.add_task(label, total=total, extra="")
        began = time.monotonic()

        def advance(n: int, tokens: int | None = None) -> None:
            extra = f"{tokens / max(time.monotonic() - began, 1e-9):.0f} tok/s" if tokens is not None else ""
            bar.update(task_id, advance=n, extra=extra)

        yield advance


def _log_lines(label: str, total: int, every_s: float) -> Callable[..., None]:
    began = last = time.monotonic()
    done = 0

    def advance(n: int, tokens: int | None = None) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last < every_s and done < total:
            return
        last, elapsed = now, now - began
        rate = f", {tokens / elapsed:.0f} tok/s" if tokens is not None else ""
        eta = elapsed / done * (total - done)
        _emit(f"{label}: {done}/{total} ({100 * done / total:.0f}%), {elapsed:.0f}s elapsed, eta {eta:.0f}s{rate}")

    return advance


def _emit(line: str) -> None:
    """To the Prefect run log inside a flow (it reaches the UI), else to stdout."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        get_run_logger().info(line)
    except MissingContextError:
        print(line, flush=True)
