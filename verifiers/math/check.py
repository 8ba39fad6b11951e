"""One check, as a worker process runs it: response + reference -> Verdict.

Verdict reasons: ``correct``, ``wrong``, ``no_answer``, ``unparseable``,
``timeout``; ``details`` always holds ``extract_method`` and ``match_method``.
A reference that contains ``\\boxed`` (a worked solution) is reduced to its last
box first.
"""

from __future__ import annotations

import time
from typing import Any

from verifiers.base import Verdict
from verifiers.math.equivalence import equivalent
from verifiers.math.extract import ANY_BOX_RE, extract_answer, last_boxed

NAME = "math"
VERSION = "1"


def check(response: str, reference: str) -> Verdict:
    t0 = time.perf_counter()
    answer, how = extract_answer(response)
    if ANY_BOX_RE.search(reference):  # a worked solution given as reference
        reference = last_boxed(reference) or reference
    details: dict[str, Any] = {"extract_method": how, "match_method": None}
    if answer is None:
        return Verdict(False, "no_answer", None, NAME, VERSION, time.perf_counter() - t0, details)
    ok, method, err = equivalent(answer, reference)
    details["match_method"] = method
    if err:
        details["error"] = err[:300]
    reason = "correct" if ok else ("unparseable" if method == "unparseable" else "wrong")
    return Verdict(ok, reason, answer, NAME, VERSION, time.perf_counter() - t0, details)


def safe_check(response: str, reference: str) -> Verdict:
    """`check` that turns any failure (MemoryError, RecursionError, ...) into a verdict."""
    try:
        return check(response, reference)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001
        details = {"extract_method": None, "match_method": "unparseable", "error": type(e).__name__}
        return Verdict(False, "unparseable", None, NAME, VERSION, 0.0, details)


def timeout_verdict(elapsed: float, timeout_s: float, match_method: str = "timeout", error: str | None = None) -> Verdict:
    details: dict[str, Any] = {"extract_method": None, "match_method": match_method, "timeout_s": timeout_s}
    if error:
        details["error"] = error
    return Verdict(False, "timeout", None, NAME, VERSION, elapsed, details)
