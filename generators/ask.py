"""Asking one teacher: send its planned requests, store what comes back as it arrives.

Answers and failures are journaled the moment they arrive and inserted in
batches (`warehouse.generations.PendingWrites`); what arrived is stored even when
the teacher fails midway. Progress is reported through a `progress(label, total)`
context manager yielding `advance(n, tokens=, errors=, spend=)`, which the flow
supplies (a rich bar or log lines); this package draws nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from generators.rows import failure_row, generation_row, logprobs_row
from generators.teachers import Budget, Completion, Failure, Request, Teacher, TeacherConfig, build_teacher
from warehouse import generations
from warehouse.db import Warehouse
from warehouse.ids import now
from warehouse.journal import Journal

Advance = Callable[..., None]
Progress = Callable[[str, int], AbstractContextManager[Advance]]


@contextmanager
def no_progress(label: str, total: int) -> Iterator[Advance]:
    """A `Progress` that shows nothing."""
    yield lambda n, **figures: None


def ask_teacher(wh: Warehouse, cfg: TeacherConfig, requests: list[Request], prompt_of: dict[str, str],
                budget: Budget, run_id: str, label: str = "generate", progress: Progress = no_progress) -> dict:
    """Send `requests` to one teacher; journal, store and count what comes back.

    Returns stored (new generation rows), failed (requests whose last attempt failed), failed_types (their
    count per error type) and completion_tokens.
    """
    generations.record_teacher(wh, {**cfg.to_row(), "created_at": now()})
    teacher = build_teacher(cfg)
    try:
        with progress(f"{label} ({cfg.model})", len(requests)) as advance, Journal(wh, run_id) as journal:
            pending = generations.PendingWrites(wh, journal)
            try:
                tokens = _drain(teacher, requests, prompt_of, budget, run_id, cfg, pending, advance)
            finally:
                pending.close()  # what arrived is stored even when the teacher fails midway
    finally:
        teacher.close()
    return {"stored": pending.stored, "failed": pending.failed, "failed_types": dict(pending.failed_types),
            "completion_tokens": tokens}


def _drain(teacher: Teacher, requests: list[Request], prompt_of: dict[str, str], budget: Budget, run_id: str,
           cfg: TeacherConfig, pending: generations.PendingWrites, advance: Advance) -> int:
    """Hand each batch the teacher yields to `pending`; return the completion tokens received."""
    by_key = {r.key: r for r in requests}
    built: dict[str, dict] = {}  # rows journaled on arrival, reused for the warehouse batch

    def row(c: Completion) -> dict:
        return built.pop(c.key, None) or generation_row(c, by_key[c.key], prompt_of[c.key], cfg, run_id)

    if teacher.calls_on_arrival:
        def journal(c: Completion) -> None:  # on the teacher's receiving thread, the moment an answer arrives
            built[c.key] = generation_row(c, by_key[c.key], prompt_of[c.key], cfg, run_id)
            pending.journal.append("generations", [built[c.key]], sync=False)
            if c.logprobs:
                pending.journal.append("generation_logprobs", [logprobs_row(c)], sync=False)

        teacher.on_arrival = journal
    tokens = 0
    for batch in teacher.generate(requests, budget):
        done = [c for c in batch if isinstance(c, Completion)]
        pending.add([row(c) for c in done], [logprobs_row(c) for c in done if c.logprobs],
                    [failure_row(f, by_key[f.key], prompt_of[f.key], cfg, run_id)
                     for f in batch if isinstance(f, Failure)], journaled=teacher.calls_on_arrival)
        tokens += sum(c.completion_tokens for c in done)
        advance(len(batch), tokens=tokens, errors=getattr(teacher, "errors", None),
                spend=budget.cost_usd if budget.prices else None)
    return tokens
