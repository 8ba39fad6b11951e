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
    """Yield `advance(n, tokens=None, errors=None, spend=None)`.

    Figures are cumulative: `tokens` adds tokens/s, `errors` a count of failed
    attempts, `spend` dollars so far; items/s is always shown.
    """
    if not Console().is_terminal:
        yield _log_lines(label, total, every_s)
        return
    columns = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[extra]}"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
    with Progress(*columns) as bar:
        task_id = bar.add_task(label, total=total, extra="")
        began = time.monotonic()
        done = 0

        def advance(n: int, tokens: int | None = None, errors: int | None = None, spend: float | None = None) -> None:
            nonlocal done
            done += n
            bar.update(task_id, advance=n, extra=_rates(done, time.monotonic() - began, tokens, errors, spend))

        yield advance


def _rates(done: int, elapsed: float, tokens: int | None, errors: int | None, spend: float | None) -> str:
    elapsed = max(elapsed, 1e-9)
    parts = [f"{done / elapsed:.1f}/s"]
    if tokens is not None:
        parts.append(f"{tokens / elapsed:.0f} tok/s")
    if errors:
        parts.append(f"{errors} errors")
    if spend is not None:
        parts.append(f"${spend:.4f}")
    return ", ".join(parts)


def _log_lines(label: str, total: int, every_s: float) -> Callable[..., None]:
    began = last = time.monotonic()
    done = 0

    def advance(n: int, tokens: int | None = None, errors: int | None = None, spend: float | None = None) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last < every_s and done < total:
            return
        last, elapsed = now, now - began
        eta = elapsed / max(done, 1) * (total - done)
        _emit(f"{label}: {done}/{total} ({100 * done / max(total, 1):.0f}%), {elapsed:.0f}s elapsed, eta {eta:.0f}s, "
              f"{_rates(done, elapsed, tokens, errors, spend)}")

    return advance


def _emit(line: str) -> None:
    """To the Prefect run log inside a flow (it reaches the UI), else to stdout."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        get_run_logger().info(line)
    except MissingContextError:
        print(line, flush=True)
