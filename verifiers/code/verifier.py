"""The public code verifier: extract, pick the isolation level, run each program sandboxed, in threads.

``CodeVerifier.verify_batch`` extracts each response's program (``extract.py``;
none -> ``no_code``, nothing is run), takes the level the start-up self-test
proved (``selftest.py``; if none works every item is ``infra_error``) and runs
the programs on up to ``workers`` threads (``run.py``). The outcomes, the order
in which they are decided, what the result record's token proves and the
``details`` keys are documented in ``run.py``, next to the code that decides.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

from verifiers.base import Verdict
from verifiers.code import sandbox
from verifiers.code.extract import extract_program
from verifiers.code.run import NAME, VERSION, make_verdict, run_one
from verifiers.code.sandbox import Layers, Limits
from verifiers.code.selftest import choose_level


def default_workers() -> int:
    """Sandboxed runs in flight at once: mostly waiting on start-up, so twice the cores, 2..16."""
    return max(2, min(16, 2 * (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)))


class CodeVerifier:
    """Judge code responses by running the task's tests in a sandbox (see ``verifiers/code/__init__.py``)."""

    name = NAME
    version = VERSION

    def __init__(self, timeout_s: float = 5.0, memory_mb: int = 512, output_limit_bytes: int = 1 << 20,
                 workers: int | None = None, isolation: str | None = None):
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        if memory_mb < 32:
            raise ValueError("memory_mb must be at least 32")
        self.limits = Limits(float(timeout_s), int(memory_mb), int(output_limit_bytes))
        self.workers = workers
        self.isolation = isolation  # a level name to start the self-test at (None: the strongest)
        self.tools: sandbox.Tools | None = None  # None: the module's TOOLS (tests swap in broken ones)

    @property
    def level(self) -> Layers:
        return choose_level(self.isolation)

    def verify(self, response: str, reference: str) -> Verdict:
        return self.verify_batch([(response, reference)])[0]

    def verify_batch(self, pairs: list[tuple[str, str]]) -> list[Verdict]:
        if not pairs:
            return []
        t0 = time.monotonic()
        try:
            layers = self.level
        except Exception as e:  # noqa: BLE001 - no level works at all: every item is an infra error
            return [make_verdict("infra_error", extract_program(r), t0, {"isolation": None, "error": str(e)[:500]})
                    for r, _ in pairs]

        def one(pair: tuple[str, str]) -> Verdict:
            start = time.monotonic()
            response, reference = ("" if pair[0] is None else str(pair[0])), ("" if pair[1] is None else str(pair[1]))
            program = extract_program(response)
            if program is None:
                return make_verdict("no_code", None, start, {"isolation": layers.name})
            return run_one(program, reference, layers, self.limits, tools=self.tools)

        n = max(1, min(self.workers or default_workers(), len(pairs)))
        if n == 1:
            return [one(p) for p in pairs]
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="code-verifier") as ex:
            return list(ex.map(one, pairs))
