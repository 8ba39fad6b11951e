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

Speed (the library's parser is most of the cost of a check that reaches it):

* two-stage parsing (`_two_stage_parsing`): latex2sympy's ANTLR parser runs in SLL
  prediction mode first and, only when that reports a syntax error, again in full LL
  mode (its default). ANTLR guarantees that an SLL parse without a syntax error is the
  parse tree LL gives, so verdicts do not change; on the 177 distinct strings the suite
  and labelled set send to the parser, two-stage parsing takes 0.6 s against 2.1 s for LL
  alone, with identical results (forms whose tie-break needs full context --
  ``x_1=..., x_2=...``, ``F_n = \\sum...`` -- fall back to LL);
* a parsed reference is cached per distinct reference string (`parse_reference`):
  the samples of one prompt share it;
* `warm_up` (run by each worker at start-up) parses a fixed corpus of generic answer
  forms and compares a few generic pairs, so ANTLR's prediction cache (shared by every
  later parse) and sympy's lazy imports are built before the first real check. The
  patch is installed in a process only when it uses the library path (`_lib`): the
  bench's math-verify rows, in the parent process, run the library as shipped.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

# a comma between digits that cannot separate thousands (not exactly three digits after it, or a
# leading 0), outside brackets: in {1,2} or (1,2) the comma separates items
DECIMAL_COMMA_RE = re.compile(r"(?<![\d,.{(\[])(?:0,\d+|\d+,(?:\d{1,2}|\d{4,}))(?![\d,}\])]|\\\})")


class _SLLFailed(Exception):
    """The SLL stage met a syntax error: parse again in LL mode."""


class _BailListener:
    """ANTLR error listener for the SLL stage: any syntax error ends the stage."""

    def syntaxError(self, recognizer, offendingSymbol, line, column, msg, e):  # noqa: N802, N803 - ANTLR's names
        raise _SLLFailed(msg)

    def reportAmbiguity(self, *args):  # noqa: N802
        pass

    def reportAttemptingFullContext(self, *args):  # noqa: N802
        pass

    def reportContextSensitivity(self, *args):  # noqa: N802
        pass


def _two_stage_parsing() -> bool:
    """Make latex2sympy parse SLL-first, LL on a syntax error (see the module docstring).
    Returns False (and changes nothing) when the library's parser does not have the shape
    this was written for (latex2sympy2_extended 1.11: `_Latex2Sympy.create_parser` / `.parse`)."""
    try:
        from antlr4.atn.PredictionMode import PredictionMode
        from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy
    except ImportError:
        return False
    if getattr(_Latex2Sympy, "_distillery_two_stage", False):
        return True
    create_parser, parse = getattr(_Latex2Sympy, "create_parser", None), getattr(_Latex2Sympy, "parse", None)
    if create_parser is None or parse is None:
        return False

    def sll_create_parser(self, latex_str):
        parser = create_parser(self, latex_str)
        if self.__dict__.get("_sll_stage"):
            parser._interp.predictionMode = PredictionMode.SLL
            parser.removeErrorListeners()
            parser.addErrorListener(_BailListener())
        return parser

    def two_stage_parse(self, latex_str):
        outer = self.__dict__.get("_sll_stage", False)
        try:
            self._sll_stage = True
            try:
                return parse(self, latex_str)
            except _SLLFailed:
                pass
            self._sll_stage = False
            return parse(self, latex_str)
        finally:
            self._sll_stage = outer

    _Latex2Sympy.create_parser = sll_create_parser
    _Latex2Sympy.parse = two_stage_parse
    _Latex2Sympy._distillery_two_stage = True
    _Latex2Sympy._distillery_ll_methods = (create_parser, parse)  # the library's own, for the tests
    return True


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
    _two_stage_parsing()
    return math_verify


def available() -> bool:
    return _lib() is not None


def _parse(text: str) -> list:
    return _lib().parse(text, parsing_timeout=None)


@lru_cache(maxsize=1024)
def parse_reference(reference: str, decimal_comma: bool = True) -> tuple:
    """(cached per reference string; sympy values are immutable) A bare reference is math (``1+1/e``): read it inside ``$...$``; unwrapped, the library's
    number fallback reads only a part of it (``1+1/e`` -> 1). A bare decimal-comma number
    (``1,22``) is read unwrapped: only there does the library read it as a decimal."""
    bare = "$" not in reference and "\\boxed" not in reference and "\\(" not in reference
    if bare and not (decimal_comma and DECIMAL_COMMA_RE.fullmatch(reference.strip())):
        gold = _parse(f"${reference}$")
        if gold:
            return tuple(gold)
    return tuple(_parse(reference))


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
    gold, pred = list(parse_reference(reference, decimal_comma)), _parse(response)
    if not gold or not pred:
        return None, None
    shown = pred[-1] if isinstance(pred[-1], str) else None
    if not decimal_approx:
        gold, pred = _exact(gold), _exact(pred)
        if gold is None or pred is None:
            return False, shown
    return bool(_lib().verify(gold, pred, timeout_seconds=None)), shown


# Generic answer forms (none taken from a benchmark set): each parse of one of these builds
# ANTLR prediction-cache entries that every later parse of a similar form reuses.
WARM_UP_TEXTS = (
    "$\\frac{2}{9}$", "$-\\dfrac{3}{4}$", "$\\tfrac{5}{6}x$", "$5\\sqrt{7}$", "$\\sqrt[3]{2}+1$", "$3.25$",
    "$1,000$", "$12\\%$", "$45^\\circ$", "$\\pi r^2$", "$e^{2x}-1$", "$x^{2}+2x+1$", "$\\frac{a+b}{c-d}$",
    "$2 \\cdot 3 \\times 4$", "$\\log_2 8$", "$\\ln(x+1)$", "$\\sin^2\\theta + \\cos \\theta$", "$5!$",
    "$\\binom{5}{2}$", "$|x-1|$", "$\\infty - 1$", "$-\\infty$", "$2-5i$", "$\\text{prime}$", "$\\mathrm{cm}$",
    "$(1, 7)$", "$\\left(\\frac{1}{2}, -3\\right)$", "$[0, 1)$", "$(-\\infty, 2] \\cup [3, \\infty)$",
    "$\\{1, 2, 3\\}$", "${1,2}$", "$(0;1;2)$", "$x \\in [-1, 4]$", "$x = 13$", "$x = 2, y = -1$", "$y = 2x + 1$",
    "$x_{1}=1, x_{2}=2$", "$f(x) = x^2$", "$a_n = 2^n$", "$t \\leq 6$", "$-2 < x \\le 7$", "$x > 1$", "$x \\neq 0$",
    "$\\pm 2$", "$x = \\pm\\sqrt{2}$", "$\\begin{pmatrix}2 & 5 \\\\ 7 & 1\\end{pmatrix}$",
    "$\\begin{bmatrix}1 \\\\ 0\\end{bmatrix}$", "$\\left[\\begin{array}{cc}1 & 0 \\\\ 0 & 1\\end{array}\\right]$",
    "$\\sum_{k=1}^{n} k^2$", "$\\int_0^1 x\\,dx$", "$\\lim_{x \\to 0} \\frac{\\sin x}{x}$", "$AB = 5$",
    "$\\angle ABC = 30^\\circ$", "$3:2$", "$\\overline{AB}$", "$\\mathbf{v} = (1, 2)$", "$\\$5.50$",
    "\\boxed{7}", "The answer is $\\boxed{\\frac{\\sqrt{2}}{2}}$.", "Final Answer: The final answer is $12$. I hope it is correct.",
    "So $x = 4$ and the answer is 4.", "\\[ \\boxed{(2, 3)} \\]", "**Answer:** 15", "\\(x = \\frac{1}{3}\\)",
)


# Generic (prediction, reference) pairs, one per kind of comparison the library makes: the first
# comparison of a kind imports sympy modules and fills sympy's caches.
WARM_UP_PAIRS = (
    ("$\\begin{pmatrix}1 & 0 \\\\ 0 & 2\\end{pmatrix}$", "$\\begin{pmatrix}1 & 0 \\\\ 0 & 2\\end{pmatrix}$"),
    ("$x \\in [1, 3]$", "$1 \\le x \\le 3$"), ("$x < 2$", "$x > 2$"), ("$x \\neq 4$", "$x \\ne 4$"),
    ("$(1, 2) \\cup (3, 4)$", "$(1,2)\\cup(3,4)$"), ("$\\{1, 2\\}$", "$\\{2, 1\\}$"),
    ("$a = 1, b = 2$", "$b = 2, a = 1$"), ("$y = 2x + 1$", "$y = 1 + 2x$"),
    ("$S_n = \\sum_{i=1}^{n} i$", "$S_n = \\sum_{j=1}^{n} j$"), ("$\\pm 3$", "$\\{-3, 3\\}$"),
    ("$\\frac{2\\sqrt{3}}{6}$", "$\\frac{1}{\\sqrt{3}}$"), ("$(t-2)^2$", "$t^2-4t+4$"), ("$\\text{even}$", "even"),
)


def warm_up() -> None:
    """Parse `WARM_UP_TEXTS` and compare `WARM_UP_PAIRS` once (a worker does this before its
    first check; see the module docstring)."""
    if _lib() is None:
        return
    for text in WARM_UP_TEXTS:
        try:
            _parse(text)
        except Exception:  # noqa: BLE001 - warming up only
            pass
    for prediction, reference in WARM_UP_PAIRS:
        try:
            library_equal(prediction, reference, False, True)
        except Exception:  # noqa: BLE001 - warming up only
            pass
