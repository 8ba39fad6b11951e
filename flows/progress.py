"""Progress for long stages: a live rich bar on a terminal, periodic log lines otherwise.

Rich draws nothing until the end when stdout is a file or a pipe (CI, a
scheduled run), so there the same figures go to the log every `every_s` seconds.
Off a terminal the libraries' tqdm bars (transformers' "Loading weights", datasets'
map, the Trainer's step bar) are turned off too: written to a file, every redraw is
another frame of the log (`quiet_library_bars`, applied when this module is imported).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

# Set before the libraries are imported (they read these once); `setdefault`, so a user's own choice wins.
# tqdm reads TQDM_* once, when it is imported: flows.factory imports this module before anything imports tqdm
# (tests/flows/test_progress.py checks it in a fresh process).
QUIET_ENV = {"TQDM_DISABLE": "1",  # tqdm >= 4.66 reads TQDM_* as defaults: the Trainer's training bar
             "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # huggingface_hub, and transformers at import
             "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}


def quiet_library_bars(is_terminal: bool | None = None) -> bool:
    """Off a terminal, turn the libraries' tqdm bars off (our stages log plain lines instead, and the Trainer
    still logs its loss every `logging_steps`); return whether it did. On a terminal, leave them alone."""
    if is_terminal if is_terminal is not None else Console().is_terminal:
        return False
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    if "transformers" in sys.modules:  # imported already: its switch was read at import
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    if "datasets" in sys.modules:
        from datasets.utils import logging as ds_logging

        ds_logging.disable_progress_bar()
    return True


quiet_library_bars()


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
