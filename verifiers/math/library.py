"""The math-verify path: Hugging Face ``math-verify`` as a second extraction and parsing layer.

Why: on math-verify's own test suite (bench/data/math_verify_suite.jsonl) our ladder alone
agreed with the expected verdict on 67% of the cases and the library on 97%; it reads
answers in prose, several boxes, matrices, relations and labelled equations that our
extraction does not. On our labelled traps the library alone has 19 false positives, so
it never decides alone: `check.check` asks it only when our ladder did not already say
``correct`` (or found the answer only as a ``last_number``), and the policy below is
applied to what it parsed.

Policy applied on top of the library:

* ``decimal_approx=False`` (default): every decimal literal the library parsed is
  replaced by the exact rational it writes (0.3333 -> 3333/10000) before comparing,
  so a decimal equals only the value it writes exactly (0.5 = 1/2, 0.3333 != 1/3).
  ``True`` keeps the library's own rounding (6 significant decimals).
* ``decimal_comma=True`` (default): the library reads ``1000,99`` / ``0,111`` as
  decimals. ``False`` refuses the library's verdict when either text holds a number
  with a decimal comma (`DECIMAL_COMMA_RE`), leaving our ladder's verdict (where
  ``1,22`` is a list) in place.

The library's own SIGALRM timeouts are off: this runs inside a killable worker
(`pool`), whose hard deadline is the timeout. Not installed -> `available()` is False
and the verifier is our ladder alone.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

# a comma between digits that cannot separate thousands (not exactly three digits after it, or a
# leading 0), outside brackets: in {1,2} or (1,2) the comma separates items
DECIMAL_COMMA_RE = re.compile(r"(?<![\d,.{(\[])(?:0,\d+|\d+,(?:\d{1,2}|\d{4,}))(?![\d,}\])]|\\\})")


@lru_cache(maxsize=1)
def _lib() -> Any | None:
    """The imported math_verify module, or None when it is not installed."""
    try:
        import math_verify
    except ImportError:
        logging.getLogger(__name__).warning(
            "math-verify is not installed: the math verifier runs its own ladder only "
            "(about 67% agreement on math-verify's suite instead of 99%); pip install math-verify==0.9.0")
        return None
    logging.getLogger("math_verify").setLevel(logging.ERROR)  # "timeout is disabled" on every call
    return math_verify


def available() -> bool:
    return _lib() is not None


def _parse(text: str) -> list:
    return _lib().parse(text, parsing_timeout=None)


def parse_reference(reference: str, decimal_comma: bool = True) -> list:
    """A bare reference is math (``1+1/e``): read it inside ``$...$``; unwrapped, the library's
    number fallback reads only a part of it (``1+1/e`` -> 1). A bare decimal-comma number
    (``1,22``) is read unwrapped: only there does the library read it as a decimal."""
    bare = "$" not in reference and "\\boxed" not in reference and "\\(" not in reference
    if bare and not (decimal_comma and DECIMAL_COMMA_RE.fullmatch(reference.strip())):
        gold = _parse(f"${reference}$")
        if gold:
            return gold
    return _parse(reference)


def _exact(values: list) -> list | None:
    """The parsed values with every Float replaced by the rational it writes; None if that fails."""
    import sympy

    out = []
    for v in values:
        if isinstance(v, str) or not hasattr(v, "atoms"):
            out.append(v)
            continue
        try:
            floats = v.atoms(sympy.Float)
            out.append(v.xreplace({f: sympy.Rational(str(f)) for f in floats}) if floats else v)
        except Exception:  # noqa: BLE001 - a type we cannot rewrite: no exact comparison
            return None
    return out


def library_equal(
    response: str, reference: str, decimal_approx: bool, decimal_comma: bool
) -> tuple[bool | None, str | None]:
    """(the library's verdict under our policy, the answer text it extracted); the verdict is
    None when it has none (not installed, nothing extracted, or the decimal-comma policy refuses it)."""
    if _lib() is None:
        return None, None
    if not decimal_comma and (DECIMAL_COMMA_RE.search(response) or DECIMAL_COMMA_RE.search(reference)):
        return None, None
    gold, pred = parse_reference(reference, decimal_comma), _parse(response)
    if not gold or not pred:
        return None, None
    shown = pred[-1] if isinstance(pred[-1], str) else None
    if not decimal_approx:
        gold, pred = _exact(gold), _exact(pred)
        if gold is None or pred is None:
            return False, shown
    return bool(_lib().verify(gold, pred, timeout_seconds=None)), shown
