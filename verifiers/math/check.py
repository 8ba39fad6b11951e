"""One check, as a worker process runs it: response + reference -> Verdict.

Verdict reasons: ``correct``, ``wrong``, ``no_answer``, ``unparseable``,
``timeout``; ``details`` always holds ``extract_method`` and ``match_method``.
A reference that contains ``\\boxed`` (a worked solution) is reduced to its boxes first:
their list when they are joined only by connectors (``\\boxed{2}, \\boxed{3}``), else the last.
A response's boxes joined that way are read as a list too when its last box alone is not
``correct`` (`_boxes_as_list`).

Two paths decide (``details["match_method"]`` says which):

1. our ladder (`extract` + `equivalence`): its ``correct`` stands, and so does its
   ``wrong`` on an answer the response marks (`_ladder_decided`);
2. otherwise (no answer, unparseable, a ``last_number`` guess, several boxes) the
   math-verify path (`library`, when installed) reads the whole response and
   reference; its ``True`` makes the verdict ``correct`` with match_method
   ``math_verify``; ``extracted`` is then the library's reading and
   ``ladder_match_method`` / ``ladder_extracted`` keep ours. Answers our guards reject
   and value-changing words (``5 million``) never reach it.
"""

from __future__ import annotations

import re
import time
from typing import Any

from verifiers.base import Verdict
from verifiers.math.equivalence import equivalent
from verifiers.math.extract import ANY_BOX_RE, boxed_list, extract_answer, last_boxed, last_math_span
from verifiers.math.guards import MAX_ANSWER_CHARS, Unparseable, guard
from verifiers.math.latex import latex_to_sympy_str
from verifiers.math.library import DECIMAL_COMMA_RE, library_equal
from verifiers.math.normalize import normalize_answer

NAME = "math"
VERSION = "2"
_BOX_CONTENT_RE = re.compile(r"\\boxed\s*\{([^{}]*(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}[^{}]*)*)\}")
_DECIMAL_RE = re.compile(r"\d\.\d")
_MARKED = ("boxed", "final_answer_phrase", "bold", "bare")
_VALUE_METHODS = ("string", "rational", "symbolic", "numeric", "equation")
_VALUE_WORD_RE = re.compile(
    r"\b(?:hundred|thousand|million|billion|trillion|dozen|squared|cubed|percent|half|times)\b", re.IGNORECASE
)
MAX_LIBRARY_CHARS = 20_000  # the library regex-scans whole texts; longer ones stay with our ladder


def check(response: str, reference: str, decimal_approx: bool = False, decimal_comma: bool = True) -> Verdict:
    """Our ladder first, then the math-verify path where the ladder did not settle it."""
    t0 = time.perf_counter()
    ours = _ladder(response, reference)
    if not ours.passed:
        ours = _boxes_as_list(response, reference) or ours
    if not ours.passed and ours.details["extract_method"] == "last_number":
        ours = _math_span_reading(response, reference) or ours
    if ours.passed or _ladder_decided(ours, response, reference, decimal_approx, decimal_comma) or _guarded(ours, response, reference):
        return _timed(ours, t0)
    ok, shown = library_equal(response, reference, decimal_approx, decimal_comma)
    if not ok:
        return _timed(ours, t0)
    details = {**ours.details, "match_method": "math_verify", "ladder_match_method": ours.details["match_method"],
               "ladder_extracted": ours.extracted}
    return Verdict(True, "correct", shown or ours.extracted, NAME, VERSION, time.perf_counter() - t0, details)


def _ladder_decided(ours: Verdict, response: str, reference: str, decimal_approx: bool, decimal_comma: bool) -> bool:
    """A ``wrong`` from our ladder stands when it read the one answer the response marks
    (a single box, a final-answer phrase, bold, a bare answer) and compared values
    (string, rational, symbolic, numeric, equation): there ours is the stricter judge (our
    traps). It does not stand on a ``last_number`` guess, with several boxes in either
    text (we read only the last), or where our reading of structure (sets, tuples,
    intervals, relations) is what failed -- the library reads more of those forms.
    With ``decimal_comma``, text holding a decimal comma (``0,111``) is the library's to read;
    with ``decimal_approx``, an answer or reference holding a decimal is the library's to round."""
    if ours.reason != "wrong" or ours.details["extract_method"] not in _MARKED:
        return False
    if decimal_comma and (DECIMAL_COMMA_RE.search(response) or DECIMAL_COMMA_RE.search(reference)):
        return False
    if decimal_approx and (_DECIMAL_RE.search(ours.extracted or "") or _DECIMAL_RE.search(reference)):
        return False
    if len(ANY_BOX_RE.findall(response)) > 1 or len(ANY_BOX_RE.findall(reference)) > 1:
        return False
    return ours.details["match_method"] in _VALUE_METHODS or _set_vs_tuple(ours.extracted or "", reference)


def _set_vs_tuple(answer: str, reference: str) -> bool:
    """An escaped-brace set ``\\{1,2\\}`` against a tuple (or the reverse) is a decided mismatch."""
    return ("\\{" in answer) != ("\\{" in reference)


def _value_words(ours: Verdict) -> bool:
    """Words that change a number's value (5 million, 3 squared): the library drops them."""
    return bool(ours.extracted and _VALUE_WORD_RE.search(ours.extracted))


def _guarded(ours: Verdict, response: str, reference: str) -> bool:
    """Answers our guards reject (too long, too deep, power towers, huge factorials) never
    reach sympy through the library either; whole texts are checked for the explosive
    forms only, since a long worked solution is fine. Nor do value-changing words."""
    if ours.extracted and (guard(ours.extracted) or _value_words(ours) or _explosive(ours.extracted)):
        return True
    if _explosive(reference) or any(_explosive(box) for box in _BOX_CONTENT_RE.findall(response)):
        return True
    if any(guard(s) not in (None, "too_long", "too_deep") for s in (response, reference)):
        return True
    return len(response) + len(reference) > MAX_LIBRARY_CHARS


def _explosive(s: str) -> bool:
    """Our converter's size guards (a power, factorial or exp with a result of ~10^4+ digits) fire on `s`."""
    if len(s) > MAX_ANSWER_CHARS:
        return False
    try:
        latex_to_sympy_str(s)
    except Unparseable as e:
        return "too large" in str(e)
    except Exception:  # noqa: BLE001 - not our concern here: only the size guards are
        return False
    return False


def _boxes_as_list(response: str, reference: str) -> Verdict | None:
    """A response's several boxes joined only by connectors (commas, ``and``, ``or``, ``\\quad``,
    spacing, math delimiters: ``\\boxed{(2, 2)} \\quad\\text{and}\\quad \\boxed{(6, 2)}``) read as one
    list; the ladder's extraction reads the last box only. Only a ``correct`` is kept: else the
    verdict is the ladder's, and the math-verify path reads several boxes its own way."""
    return _correct_reading(boxed_list(response), reference, {"extract_method": "boxed", "boxes_read_as_list": True})


def _math_span_reading(response: str, reference: str) -> Verdict | None:
    """Where the last-number fallback read a number inside the response's last math span
    (``The identity matrix is $\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}$.``), the whole span is
    read. Only a ``correct`` is kept (extract_method ``math_span``); else the verdict is the ladder's."""
    return _correct_reading(last_math_span(response), reference, {"extract_method": "math_span"})


def _correct_reading(text: str | None, reference: str, details: dict) -> Verdict | None:
    """A second reading's verdict: `correct` when `text` normalises to an answer equal to the reference's,
    else None (the ladder's verdict stands)."""
    answer = normalize_answer(text) if text is not None else None
    if not answer:
        return None
    ok, method, _ = equivalent(answer, _reference_answer(reference))
    if not ok:
        return None
    return Verdict(True, "correct", answer, NAME, VERSION, 0.0, {**details, "match_method": method})


def _reference_answer(reference: str) -> str:
    """A reference with boxes (a worked solution) is the list of its boxes when they are joined
    only by connectors (`extract.boxed_list`), else its last box."""
    if ANY_BOX_RE.search(reference):
        return boxed_list(reference) or last_boxed(reference) or reference
    return reference


def _timed(v: Verdict, t0: float) -> Verdict:
    return Verdict(v.passed, v.reason, v.extracted, NAME, VERSION, time.perf_counter() - t0, v.details)


def _ladder(response: str, reference: str) -> Verdict:
    """Our own extraction and equivalence ladder."""
    answer, how = extract_answer(response)
    reference = _reference_answer(reference)  # a worked solution given as reference
    details: dict[str, Any] = {"extract_method": how, "match_method": None}
    if answer is None:
        return Verdict(False, "no_answer", None, NAME, VERSION, 0.0, details)
    ok, method, err = equivalent(answer, reference)
    details["match_method"] = method
    if err:
        details["error"] = err[:300]
    reason = "correct" if ok else ("unparseable" if method == "unparseable" else "wrong")
    return Verdict(ok, reason, answer, NAME, VERSION, 0.0, details)


def safe_check(response: str, reference: str, decimal_approx: bool = False, decimal_comma: bool = True) -> Verdict:
    """`check` that turns any failure (MemoryError, RecursionError, ...) into a verdict."""
    try:
        return check(response, reference, decimal_approx, decimal_comma)
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
