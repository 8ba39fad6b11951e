"""Math answer verifier: read the final answer from a model response, decide
whether it equals a reference answer, and never hang while doing it.

False positives train the student on wrong answers and false negatives throw
good samples away, so every rule below is deliberately explicit.

Extraction order (`extract_answer`, the first method that finds something wins)
-----------------------------------------------------------------------------
1. ``boxed`` -- the LAST complete ``\\boxed{...}`` / ``\\fbox{...}`` (nested
   braces matched; ``\\boxed 5`` also accepted). A box whose content is itself a
   single box is unwrapped. An unclosed (truncated) box is ignored.
2. ``final_answer_phrase`` -- the LAST "final answer is X", "final answer: X",
   "the answer is X" or "Answer: X" (case-insensitive). X is the rest of that
   line (or the following display-math block), cut at the end of the sentence
   (". ", ", which", " because", ...), with ``$``/``\\(``/markdown ``**`` removed.
3. ``bold`` -- the LAST markdown ``**X**`` (labels ending in ":" are skipped).
4. ``bare`` -- (addition to the four documented methods) the whole response is
   a one-line math answer such as ``x = 3`` or ``\\frac{1}{2}``: no prose words
   except "or", "and", "yes", "no", ... This lets references-style bare answers
   be verified without a ``last_number`` mangling of ``\\frac{1}{2}`` into 2.
5. ``last_number`` -- fallback: the last number in the text (integers, decimals,
   ``a/b``, thousands separators, a leading minus sign). Recorded as such in the
   verdict details so callers can decide whether to trust it.
6. ``(None, "none")`` -- nothing found; the verdict reason is ``no_answer``.

Normalisation policy (`normalize_answer`, applied to extracted answers and to
references alike; it is idempotent)
-----------------------------------------------------------------------------
* Math delimiters ``$``, ``\\(``, ``\\)``, ``\\[``, ``\\]`` are removed.
* Currency: ``\\$`` and ``$`` are removed ("\\$1,234.50" -> 1234.50).
* Percent: ``\\%``, ``%`` and a trailing word "percent" are removed and the number
  is compared AS WRITTEN: "10%" equals 10, and does NOT equal 0.1.
* Degrees: ``^\\circ``, ``^{\\circ}``, ``\\circ``, ``\\degree``, "°" and trailing
  "degrees" are removed (45^\\circ equals 45; radians are not converted).
* Units: a trailing ``\\text{..}``/``\\mbox{..}``/``\\mathrm{..}`` after an
  expression (optionally with ^2/^3) is a unit and is dropped; plain trailing
  words after a number ("5 apples", "12 cm") are dropped too (words of one
  letter are never dropped: "2 x" stays a product). A lone ``\\text{X}`` is
  unwrapped; ``\\text{ or }`` becomes the word "or".
* ``\\dfrac``/``\\tfrac`` -> ``\\frac``, ``\\left``/``\\right``/``\\big..`` and
  spacing commands are dropped, ``\\frac12`` -> ``\\frac{1}{2}``, ``\\sqrt2`` ->
  ``\\sqrt{2}``, common unicode (−, ×, √, π, ∞, ≤, ...) is mapped to LaTeX.
* Thousands separators are removed only when the whole answer (optionally
  ``x = ...``) is one number of the form 1,234 or 1,234,567.89 (also 1{,}234
  and 1\\,234); "(1, 2)" and "1, 2" stay lists.
* A trailing period is dropped; "(B)" becomes "B".

Equivalence ladder (`answers_equivalent`, cheapest first; the method that
decided is returned)
-----------------------------------------------------------------------------
0. guard (method ``unparseable``): answers longer than 200 characters, nesting
   deeper than 12, exponents or factorial arguments with 5+ digits, power towers
   deeper than 3, and (while converting, before sympy sees anything) any numeric
   power/factorial/binomial/exp whose result would exceed ~10^4 digits and any
   power of a variable above 10^4 are rejected WITHOUT calling sympy.
1. ``string`` -- normalised strings equal (whitespace-insensitive except between
   two alphanumerics; pure words compare case-insensitively).
2. Structure: ``x = 3`` vs ``3`` (a single-variable or f(x) left-hand side is
   dropped), several solutions ``x=2 or x=3`` / ``x = 2, 3`` / ``\\{2, 3\\}``
   compare as sets (``set``), ``\\pm`` expands to two solutions, tuples ``(1, 2)``
   compare in order (``tuple``), intervals compare endpoints AND bracket types
   (``interval``: ``[1, 2)`` != ``[1, 2]``; ``x \\in``, ``\\cup`` unions and
   inequalities like ``1 \\le x < 2`` are understood), general equations compare
   up to a non-zero constant factor (``equation``).
3. ``rational`` -- both sides are exact rationals (integers, decimals, ``a/b``,
   ``\\frac{a}{b}``, mixed numbers ``1\\frac{1}{2}`` / ``1 1/2``, 1e-3): compared
   exactly with fractions.Fraction, so 0.3333 != 1/3 and -0 == 0.
4. ``symbolic`` -- our own small LaTeX-to-sympy-string converter (``\\frac``,
   ``\\sqrt``, ``\\sqrt[n]``, ``^``, ``\\pi``, ``e``, ``i``, ``\\cdot``,
   ``\\times``, implicit multiplication, trig/log functions, ``!``, ``\\binom``,
   ``|x|``, ...) feeds ``sympy.parsing.sympy_parser.parse_expr`` (decimals are
   rationalised exactly); sympy's canonical forms equal -> equal.
5. ``numeric`` -- constants are evaluated to 50 significant digits. A
   difference beyond relative tolerance 1e-9 (absolute 1e-12 near 0) is decisive
   (not equal). Because the evaluation is exact to ~50 digits, agreement is only
   accepted when it holds to 1e-25 relative (1e-30 absolute); between the two
   (e^{25} + 1/3 vs e^{25}) only an exact ``sympy.simplify`` proof makes them
   equal. An answer containing a decimal literal is an approximation and never
   equals a value it only approximates (1.41421356237 != \\sqrt{2}, 0.3333 !=
   1/3) unless sympy proves it. Expressions with variables are probed at 6
   fixed points (40 digits, same 1e-25 rule); any disagreement is decisive.
   Inconclusive probes fall back to ``simplify(a - b) == 0``.
If the prediction cannot be parsed while the reference can (or vice versa) the
method is ``unparseable``. Agreement at the probe points is strong evidence but
not a proof; the only accepted "equal without proof" cases are that one and the
1e-9 agreement of two exact closed-form constants.

Reading conventions: ``e`` is Euler's number and ``i`` the imaginary unit;
``\\log`` is the natural log (write ``\\log_{10}``); ``2^10`` means 2^{10};
``1/2x`` is (1/2)x; two bare numbers side by side ("2 3") are ambiguous and
unparseable; letter runs of 4+ that are not function names ("5 hundred") are
unparseable rather than products of variables; ``\\sqrt[3]{-8}`` is the real
root -2. In ``MathVerifier`` a reference that contains ``\\boxed`` (a worked
solution) is reduced to its last box first.

Verdict reasons: ``correct``, ``wrong``, ``no_answer``, ``unparseable``,
``timeout``; ``details`` always holds ``extract_method`` and ``match_method``.

Timeout design
--------------
sympy can hang or eat memory, ``signal.alarm`` only works in the main thread
(this code runs in threads under Prefect) and the caller is multi-threaded, so
every check runs in a worker process from ``multiprocessing.get_context("spawn")``
(never "fork"). A lazy module-level pool keeps workers alive across calls and
is shut down at interpreter exit. ``verify_batch`` checks out up to ``workers``
idle workers (other threads can use the rest), sends one check at a time to
each worker that has announced it is ready (so process start-up never counts
against a check), and waits on the pipes with ``multiprocessing.connection.wait``
until the earliest deadline. A worker that misses its deadline is terminated
(then killed), replaced by a fresh one, and only that item gets a ``timeout``
verdict. A worker that dies mid-check (OOM killer, external kill) is replaced
the same way; its item gets reason ``timeout`` with ``match_method`` "crashed"
(it is not retried: a crash is usually resource exhaustion). Workers cap their
address space at 4 GiB where the platform allows it, and exit when the parent
goes away (their pipe reaches EOF). ``MathVerifier.verify`` uses the same path.
Note the usual spawn caveat: a script that creates a verifier at import time
must guard its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import re
import threading
import time
from collections import deque
from fractions import Fraction
from functools import lru_cache
from multiprocessing.connection import wait as _mp_wait
from typing import Any

from verifiers.base import Verdict

__all__ = [
    "MathVerifier",
    "answers_equivalent",
    "extract_answer",
    "normalize_answer",
    "latex_to_sympy_str",
]

NAME = "math"
VERSION = "1"

MAX_ANSWER_CHARS = 200
MAX_NESTING = 12
MAX_RESULT_DIGITS = 1e4  # numeric sub-results larger than this (in digits) are "absurd"
MAX_SYMBOLIC_EXPONENT = 1e4
MAX_FACTORIAL_ARG = 5000
MAX_ITEMS = 50  # elements in a set/tuple/list answer
REL_TOL = 1e-9  # beyond this two values are different, no questions asked
ABS_TOL = 1e-12
EXACT_REL_TOL = 1e-25  # values are computed to 50 (probes: 40) digits; equal means equal to here
EXACT_ABS_TOL = 1e-30
WORKER_MEMORY_BYTES = 4 << 30
WORKER_START_TIMEOUT_S = 120.0


class Unparseable(ValueError):
    """The answer is not something we can (or are willing to) interpret."""


# --------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOX_BARE_RE = re.compile(r"\\boxed[ \t]+([^\s${}\\]+)")
_PHRASE_RE = re.compile(
    r"(?:\bfinal\s+answer\s*(?:is\b|:)|\bthe\s+answer\s+is\b|\banswer\s*:)", re.IGNORECASE
)
_BOLD_RE = re.compile(r"\*\*([^*\n]+?)\*\*")
_LAST_NUM_RE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?![\d,])|\d+)(\.\d+)?(/\d+(?![\d.]))?")
_SENTENCE_CUT_RE = re.compile(
    r"\.(?=\s|$)|,\s+(?!(?:or|and)\b)(?=[A-Za-z]{2,}\b)|\s+\((?=[A-Za-z]{2,})"
    r"|\s+(?:because|since|which|where|as\s+(?:the|this|we|it)|so\s+(?:the|that|this))\b",
)
_FILLER_RE = re.compile(
    r"^(?:(?:therefore|thus|hence|so|then|clearly|simply|just|exactly|equal\s+to|given\s+by)\b[\s,:]*)+",
    re.IGNORECASE,
)
_BARE_WORDS = {
    "or", "and", "yes", "no", "true", "false", "pi", "sqrt", "inf", "infinity", "sin", "cos",
    "tan", "cot", "sec", "csc", "log", "ln", "exp", "undefined", "none",
}


def _match_brace(s: str, i: int) -> int:
    """Index of the '}' matching the '{' at s[i], or -1. Escaped braces are skipped."""
    depth = 0
    j = i
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def _last_boxed(text: str) -> str | None:
    found: list[tuple[int, str]] = []
    pos = 0
    while True:
        m = _BOX_RE.search(text, pos)
        if not m:
            break
        open_i = m.end() - 1
        close = _match_brace(text, open_i)
        if close < 0:  # truncated box: ignore it
            pos = m.end()
            continue
        content = text[open_i + 1 : close]
        if content.strip():
            found.append((m.start(), content))
        pos = close + 1  # boxes nested inside this one belong to it
    for m in _BOX_BARE_RE.finditer(text):
        found.append((m.start(), m.group(1)))
    if not found:
        return None
    content = max(found, key=lambda t: t[0])[1].strip()
    # \boxed{\boxed{5}} -> 5
    while True:
        m = _BOX_RE.match(content)
        if not m:
            break
        close = _match_brace(content, m.end() - 1)
        if close != len(content) - 1:
            break
        content = content[m.end() : close].strip()
    return content


def _strip_math_delims(s: str) -> str:
    s = s.strip()
    changed = True
    while changed and s:
        changed = False
        for a, b in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"), ("**", "**")):
            if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
                s = s[len(a) : len(s) - len(b)].strip()
                changed = True
    return s


def _after_phrase(text: str, start: int) -> str:
    rest = text[start:]
    rest = re.sub(r"^[\s*:_]*", "", rest)
    # a display-math block right after the phrase
    for a, b in (("$$", "$$"), ("\\[", "\\]")):
        if rest.startswith(a):
            end = rest.find(b, len(a))
            if end > 0:
                return rest[len(a) : end]
    line = rest.split("\n", 1)[0]
    m = _SENTENCE_CUT_RE.search(line)
    if m:
        line = line[: m.start()]
    line = line.replace("**", "").replace("\\$", "")
    line = line.replace("\\(", "").replace("\\)", "").replace("$", "")
    line = _FILLER_RE.sub("", line.strip())
    return line.strip().rstrip(".,;:").strip()


def _looks_bare(text: str) -> bool:
    s = _strip_math_delims(text)
    if not s or "\n" in s or len(s) > 2 * MAX_ANSWER_CHARS or re.search(r"\\(?:boxed|fbox)", s):
        return False
    probe = re.sub(r"\\(?:begin|end)\s*\{[A-Za-z*]*\}", " ", s)
    probe = re.sub(r"\\(?:text|textbf|mathrm|mbox|textrm|operatorname)\s*\{[^{}]*\}", " ", probe)
    probe = re.sub(r"\\[A-Za-z]+", " ", probe)
    words = re.findall(r"[A-Za-z]{2,}", probe)
    return all(w.lower() in _BARE_WORDS for w in words)


def _last_number(text: str) -> str | None:
    last = None
    for m in _LAST_NUM_RE.finditer(text):
        last = m
    if last is None:
        return None
    num = last.group(0)
    i = last.start()
    if i > 0 and text[i - 1] == "-" and (i == 1 or text[i - 2] in " \t\n(=:$[{,"):
        num = "-" + num
    if "," in num:
        num = num.replace(",", "")
    return num


def extract_answer(text: str) -> tuple[str | None, str]:
    """Return (normalised answer, method); see the module docstring for the order."""
    if not isinstance(text, str) or not text.strip():
        return None, "none"
    candidates: list[tuple[str, Any]] = [
        ("boxed", lambda: _last_boxed(text)),
        ("final_answer_phrase", lambda: _phrase_answer(text)),
        ("bold", lambda: _bold_answer(text)),
        ("bare", lambda: _strip_math_delims(text) if _looks_bare(text) else None),
        ("last_number", lambda: _last_number(text)),
    ]
    for method, fn in candidates:
        raw = fn()
        if raw is None:
            continue
        ans = normalize_answer(raw)
        if ans:
            return ans, method
    return None, "none"


def _phrase_answer(text: str) -> str | None:
    last = None
    for m in _PHRASE_RE.finditer(text):
        last = m
    if last is None:
        return None
    ans = _after_phrase(text, last.end())
    return ans or None


def _bold_answer(text: str) -> str | None:
    last = None
    for m in _BOLD_RE.finditer(text):
        content = m.group(1).strip()
        if content and not content.endswith(":"):
            last = content
    if last is None:
        return None
    return _strip_math_delims(last).rstrip(".").strip() or None


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

_UNICODE = [
    ("\u2212", "-"), ("\u2013", "-"), ("\u00d7", "\\times "), ("\u00b7", "\\cdot "),
    ("\u22c5", "\\cdot "), ("\u00f7", "\\div "), ("\u221a", "\\sqrt"), ("\u03c0", "\\pi "),
    ("\u221e", "\\infty "), ("\u2264", "\\leq "), ("\u2265", "\\geq "), ("\u2260", "\\neq "),
    ("\u00b0", ""), ("\u222a", "\\cup "), ("\u2208", "\\in "), ("\u00b1", "\\pm "),
    ("\u2205", "\\emptyset "), ("\u00a0", " "), ("\u2009", " "), ("\u202f", " "),
]
_TEXT_CMD_RE = re.compile(r"\\(text|textbf|textit|textrm|textnormal|textsf|mathrm|mathbf|mathit|mathsf|mbox|operatorname)\s*\{")
_UNIT_WORD_STOP = {
    "or", "and", "pi", "sqrt", "inf", "infinity", "sin", "cos", "tan", "cot", "sec", "csc",
    "log", "ln", "exp", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "in", "mod",
    "frac", "cdot", "times", "div", "infty", "le", "ge", "leq", "geq", "lt", "gt", "cup",
    # words that change the value: "5 hundred", "3 squared", "2 thirds" are never units
    "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion", "billions",
    "trillion", "dozen", "dozens", "half", "halves", "third", "thirds", "quarter", "quarters",
    "tenth", "tenths", "hundredth", "hundredths", "thousandth", "thousandths", "squared",
    "cubed", "root", "roots", "over", "plus", "minus", "factorial", "k", "m", "bn",
}
_THOUSANDS_RE = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+)(\.\d+)?")


def _replace_text_cmds(s: str) -> str:
    """Handle \\text{..}-like groups: lone -> unwrap, trailing -> unit (dropped), inner -> unwrap."""
    # lone group
    m = _TEXT_CMD_RE.match(s)
    if m:
        close = _match_brace(s, m.end() - 1)
        if close == len(s) - 1:
            return s[m.end() : close].strip()
    # trailing unit groups (repeat: "5\text{ m}\text{/s}")
    while True:
        last = None
        for m in _TEXT_CMD_RE.finditer(s):
            last = m
        if last is None or last.start() == 0:
            break
        close = _match_brace(s, last.end() - 1)
        if close < 0:
            break
        tail = s[close + 1 :]
        if not re.fullmatch(r"\s*(?:\^\s*\{?\s*[23]\s*\}?)?\s*\.?\s*", tail):
            break
        content = s[last.end() : close].strip()
        if last.group(1) in ("mathrm", "mathbf", "mathit", "mathsf", "operatorname") and len(content) <= 1:
            break  # \mathrm{e}, \mathrm{i}: constants, not units
        if content.lower() in ("or", "and") or not re.search(r"[A-Za-z]", content):
            break
        if any(w.lower() in _UNIT_WORD_STOP for w in re.findall(r"[A-Za-z]+", content) if len(w) > 1):
            break  # "5\text{ million}" is not a unit
        head = s[: last.start()].rstrip()
        if not head or head.endswith(("=", "\\in")):
            break
        s = head
    # everything else: unwrap
    out = []
    pos = 0
    for m in _TEXT_CMD_RE.finditer(s):
        if m.start() < pos:
            continue
        close = _match_brace(s, m.end() - 1)
        if close < 0:
            continue
        content = s[m.end() : close]
        out.append(s[pos : m.start()])
        if content.strip().lower() in ("or", "and"):
            out.append(f" {content.strip().lower()} ")
        else:
            out.append(content)
        pos = close + 1
    out.append(s[pos:])
    return "".join(out)


def _strip_word_units(s: str) -> str:
    m = re.fullmatch(r"(.*?[\d}])\s+([A-Za-z][A-Za-z\s./^{}\d-]*?)\.?", s)
    if not m:
        return s
    head, tail = m.group(1), m.group(2)
    if re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", head)):
        return s  # the head is not purely numeric/LaTeX
    if not re.fullmatch(r"[A-Za-z]+(?:\^\{?[23]\}?)?(?:(?:\s+|\s*/\s*|-)[A-Za-z]+(?:\^\{?[23]\}?)?)*", tail):
        return s
    words = re.findall(r"[A-Za-z]+", tail)
    if any(w.lower() in _UNIT_WORD_STOP for w in words) or not any(len(w) >= 2 for w in words):
        return s
    return head


def normalize_answer(s: str) -> str:
    """Canonical string form of an answer (policy in the module docstring)."""
    if s is None:
        return ""
    s = str(s).strip()
    if len(s) > 4 * MAX_ANSWER_CHARS:
        return s  # the guard rejects it anyway; keep the regexes below linear-time
    for a, b in _UNICODE:
        s = s.replace(a, b)
    s = s.replace("\\$", "").replace("$", "")
    s = _strip_math_delims(s)
    s = re.sub(r"\\(?:dfrac|tfrac|cfrac)", r"\\frac", s)
    s = re.sub(r"\\(?:dbinom|tbinom)", r"\\binom", s)
    s = re.sub(r"\\(?:left|right)\s*\.", "", s)
    s = re.sub(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)(?![A-Za-z])", "", s)
    s = s.replace("\\lbrace", "\\{").replace("\\rbrace", "\\}")
    s = re.sub(r"\\(?:displaystyle|textstyle)(?![A-Za-z])", "", s)
    s = s.replace("\\!", "")
    s = re.sub(r"(\d)\s*\{,\}\s*(?=\d{3})", r"\1,", s)  # 1{,}234 -> 1,234
    while True:
        t = re.sub(r"(\d)\\,(\d{3})(?!\d)", r"\1,\2", s)  # 1\,234 -> 1,234
        if t == s:
            break
        s = t
    s = re.sub(r"(?<!\\)\\[,;:> ]|~|\\q?quad(?![A-Za-z])", " ", s)
    s = re.sub(r"\\(?:emptyset|varnothing)(?![A-Za-z])", r"\\{\\}", s)
    # degrees and percent
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![A-Za-z])|\\circ(?![A-Za-z])|\\degree(?![A-Za-z])", "", s)
    s = s.replace("\\%", "").replace("%", "")
    s = _replace_text_cmds(s)
    # LaTeX shorthands: \frac12, \frac{1}2, \frac1{2}, \sqrt2
    s = re.sub(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*\{([^{}]*)\}\s*([0-9A-Za-z])", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*([0-9A-Za-z])\s*\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\sqrt\s*([0-9A-Za-z])", r"\\sqrt{\1}", s)
    s = re.sub(r"\\(?:le|leqslant)(?![A-Za-z])", r"\\leq", s)
    s = re.sub(r"\\(?:ge|geqslant)(?![A-Za-z])", r"\\geq", s)
    s = re.sub(r"\\ne(?![A-Za-z])", r"\\neq", s)
    s = re.sub(r"(?<![A-Za-z\\])(?:infinity|inf)(?![A-Za-z])", r"\\infty", s)
    s = s.strip()
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"[.;,]+$", "", s).strip()  # trailing sentence punctuation
    s = re.sub(r"\s*\b(?:percent|degrees?)$", "", s).strip()
    s = _strip_word_units(s).strip()
    m = re.fullmatch(r"((?:[A-Za-z]\s*=\s*)?)" + _THOUSANDS_RE.pattern, s)
    if m:
        s = m.group(1) + m.group(2) + m.group(3).replace(",", "") + (m.group(4) or "")
    m = re.fullmatch(r"\(\s*([A-J])\s*\)", s)
    if m:
        s = m.group(1)
    s = re.sub(r"\s+", " ", s).strip()
    return s


def _squash(s: str) -> str:
    """Drop whitespace except between two alphanumerics."""
    s = re.sub(r"\s+", " ", s.strip())
    return re.sub(r"(?<=[^0-9A-Za-z]) | (?=[^0-9A-Za-z])", "", s)


# --------------------------------------------------------------------------
# Guards
# --------------------------------------------------------------------------

def _guard(s: str) -> str | None:
    """Return why `s` is absurd (and must not reach sympy), or None."""
    if len(s) > MAX_ANSWER_CHARS:
        return "too_long"
    depth = best = 0
    for c in s:
        if c in "([{":
            depth += 1
            best = max(best, depth)
        elif c in ")]}":
            depth -= 1
    if best > MAX_NESTING:
        return "too_deep"
    if re.search(r"\^\s*[({]?\s*[-+]?\s*\d{5,}", s) or re.search(r"\*\*\s*\(?\s*[-+]?\d{5,}", s):
        return "huge_exponent"
    if re.search(r"\d{5,}\s*\)?\s*!", s):
        return "huge_factorial"
    # power towers: a^{b^{c^{d^{...}}}}
    tower = 0
    stack: list[bool] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "^" and i + 1 < len(s):
            j = i + 1
            while j < len(s) and s[j] == " ":
                j += 1
            if j < len(s) and s[j] in "{(":
                stack.append(True)
                tower = max(tower, sum(stack))
                i = j + 1
                continue
            tower = max(tower, sum(stack) + 1)
        elif c in "{(":
            stack.append(False)
        elif c in "})" and stack:
            stack.pop()
        i += 1
    if tower > 3:
        return "power_tower"
    return None


# --------------------------------------------------------------------------
# LaTeX -> sympy string
# --------------------------------------------------------------------------

_FUNCS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "cot": "cot", "sec": "sec", "csc": "csc",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh",
    "tanh": "tanh", "ln": "log", "log": "log", "exp": "exp", "lg": "_log10",
}
_INVERSE = {"sin": "asin", "cos": "acos", "tan": "atan", "cot": "acot", "sec": "asec", "csc": "acsc"}
_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "varphi",
    "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Sigma", "Phi", "Psi", "Omega",
}
_WORD_NAMES = sorted(list(_FUNCS) + ["sqrt", "pi"], key=len, reverse=True)


class _Node:
    """A converted sub-expression: sympy source text; `mag`, an upper bound on
    |log10 |value|| -- how many decimal digits the number has before or after
    the point -- or None when it has variables; whether it is a bare integer
    literal; and whether a decimal literal occurs in it."""

    __slots__ = ("src", "mag", "intlit", "dec")

    def __init__(self, src: str, mag: float | None, intlit: bool = False, dec: bool = False):
        self.src = src
        self.mag = mag
        self.intlit = intlit
        self.dec = dec


def _tokenize(s: str) -> list[tuple[str, str]]:
    toks: list[tuple[str, str]] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c.isdigit() or (c == "." and i + 1 < n and s[i + 1].isdigit()):
            m = re.compile(r"\d*\.?\d+|\d+\.?").match(s, i)
            num = m.group(0)
            toks.append(("num", num))
            i = m.end()
            continue
        if c == "\\":
            m = re.compile(r"\\([A-Za-z]+)").match(s, i)
            if m:
                name = m.group(1)
                if name in ("cdot", "times", "ast"):
                    toks.append(("op", "*"))
                elif name == "div":
                    toks.append(("op", "/"))
                elif name in ("lfloor", "rfloor", "lceil", "rceil"):
                    toks.append(("lp" if name[0] == "l" else "rp", name))
                else:
                    toks.append(("cmd", name))
                i = m.end()
                continue
            if i + 1 < n and s[i + 1] in "{}":
                raise Unparseable("set braces inside a scalar")
            raise Unparseable(f"bad escape at {i}")
        if c.isalpha():
            m = re.compile(r"[A-Za-z]+").match(s, i)
            run = m.group(0)
            if len(run) >= 4 and not any(run.startswith(w) or run.endswith(w) for w in _WORD_NAMES):
                raise Unparseable(f"word {run!r} in a formula")  # "5 hundred", not 5*h*u*n*d*r*e*d
            j = 0
            while j < len(run):
                for w in _WORD_NAMES:
                    if run.startswith(w, j):
                        toks.append(("cmd", w))
                        j += len(w)
                        break
                else:
                    toks.append(("id", run[j]))
                    j += 1
            i = m.end()
            continue
        if s.startswith("**", i):
            toks.append(("op", "^"))
            i += 2
            continue
        if c in "([{":
            toks.append(("lp", c))
        elif c in ")]}":
            toks.append(("rp", c))
        elif c in "+-*/^_!|'":
            toks.append(("op", c))
        else:
            raise Unparseable(f"unexpected character {c!r}")
        i += 1
    return toks


def _cap(x: float) -> float:
    return min(x, 1e12)


class _LatexParser:
    """Recursive descent over LaTeX-ish math; emits explicit sympy syntax."""

    def __init__(self, s: str):
        self.toks = _tokenize(s)
        self.i = 0
        self.abs_depth = 0

    # -- helpers -----------------------------------------------------------
    def peek(self, k: int = 0) -> tuple[str, str] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        t = self.peek()
        if t is None:
            raise Unparseable("unexpected end")
        self.i += 1
        return t

    def expect(self, kind: str, val: str | tuple[str, ...]) -> None:
        t = self.take()
        vals = (val,) if isinstance(val, str) else val
        if t[0] != kind or t[1] not in vals:
            raise Unparseable(f"expected {val!r}, got {t[1]!r}")

    def is_op(self, val: str) -> bool:
        t = self.peek()
        return t is not None and t[0] == "op" and t[1] == val

    # -- size-tracking constructors -----------------------------------------
    @staticmethod
    def _bin(a: _Node, op: str, b: _Node) -> _Node:
        if a.mag is None or b.mag is None:
            mag = None
        elif op in "+-":
            mag = _cap(max(a.mag, b.mag) + 0.31)
        else:
            mag = _cap(a.mag + b.mag)
        return _Node(f"({a.src}){op}({b.src})", mag, dec=a.dec or b.dec)

    @staticmethod
    def _pow(b: _Node, e: _Node) -> _Node:
        mag = None
        if e.mag is not None:
            bound = 10.0 ** min(e.mag, 300.0)  # |exponent| <= bound
            if b.mag is not None:
                size = bound * b.mag
                if size > MAX_RESULT_DIGITS:
                    raise Unparseable("power too large")
                mag = size
            elif bound > MAX_SYMBOLIC_EXPONENT * 1.05:
                raise Unparseable("exponent too large")
        return _Node(f"({b.src})**({e.src})", mag, dec=b.dec or e.dec)

    @staticmethod
    def _fact(a: _Node, src: str) -> _Node:
        if a.mag is None:
            return _Node(src, None, dec=a.dec)
        bound = 10.0 ** min(a.mag, 300.0)
        size = bound * max(math.log10(bound + 1), 1.0)
        if bound > MAX_FACTORIAL_ARG or size > MAX_RESULT_DIGITS:
            raise Unparseable("factorial too large")
        return _Node(src, _cap(size), dec=a.dec)

    # -- grammar ------------------------------------------------------------
    def parse(self) -> _Node:
        if not self.toks:
            raise Unparseable("empty")
        node = self.expr()
        if self.peek() is not None:
            raise Unparseable(f"trailing input at {self.peek()!r}")
        return node

    def expr(self) -> _Node:
        left = self.term()
        while True:
            t = self.peek()
            if t is not None and t[0] == "op" and t[1] in "+-":
                self.take()
                left = self._bin(left, t[1], self.term())
            elif t is not None and t[0] == "cmd" and t[1] in ("pm", "mp"):
                raise Unparseable("\\pm inside an expression")
            else:
                return left

    def starts_primary(self, t: tuple[str, str] | None) -> bool:
        if t is None:
            return False
        kind, val = t
        if kind in ("num", "id"):
            return True
        if kind == "lp":
            return val in ("(", "[", "{", "lfloor", "lceil")
        if kind == "cmd":
            return val not in ("pm", "mp")
        if kind == "op" and val == "|":
            return self.abs_depth == 0
        return False

    def term(self) -> _Node:
        left = self.unary()
        single_int = left.intlit
        nfactors = 1
        while True:
            t = self.peek()
            if t is not None and t[0] == "op" and t[1] in "*/":
                self.take()
                left = self._bin(left, t[1], self.unary())
                nfactors += 1
            elif self.starts_primary(t):
                if t[0] == "num":
                    raise Unparseable("number after a factor")  # "2 3", "x 2": ambiguous
                if nfactors == 1 and single_int and self._mixed_ahead():
                    left = self._bin(left, "+", self.power())  # mixed number 1\frac{1}{2}
                else:
                    left = self._bin(left, "*", self.power())
                nfactors += 1
            else:
                return left

    def _mixed_ahead(self) -> bool:
        t = self.toks[self.i : self.i + 7]
        if len(t) < 7 or t[0] != ("cmd", "frac"):
            return False
        shape = [x[0] if x[0] == "num" else x for x in t[1:]]
        if shape != [("lp", "{"), "num", ("rp", "}"), ("lp", "{"), "num", ("rp", "}")]:
            return False
        a, b = t[2][1], t[5][1]
        return a.isdigit() and b.isdigit() and int(a) < int(b)

    def unary(self) -> _Node:
        t = self.peek()
        if t is not None and t[0] == "op" and t[1] in "+-":
            self.take()
            inner = self.unary()
            if t[1] == "+":
                return inner
            return _Node(f"(-({inner.src}))", inner.mag, dec=inner.dec)
        return self.power()

    def power(self) -> _Node:
        base = self.postfix()
        if self.is_op("^"):
            self.take()
            exp = self.exponent()
            node = self._pow(base, exp)
            while self.is_op("!"):
                self.take()
                node = self._fact(node, f"factorial({node.src})")
            return node
        return base

    def exponent(self) -> _Node:
        t = self.peek()
        if t is None:
            raise Unparseable("missing exponent")
        if t[0] == "op" and t[1] in "+-":
            self.take()
            inner = self.exponent()
            return inner if t[1] == "+" else _Node(f"(-({inner.src}))", inner.mag, dec=inner.dec)
        if t == ("lp", "{"):
            self.take()
            node = self.expr()
            self.expect("rp", "}")
            return node
        if t[0] == "num":
            return self.primary()
        return self.power()

    def postfix(self) -> _Node:
        node = self.primary()
        while True:
            if self.is_op("!"):
                self.take()
                if self.is_op("!"):
                    self.take()
                    node = self._fact(node, f"factorial2({node.src})")
                else:
                    node = self._fact(node, f"factorial({node.src})")
            elif self.is_op("'"):
                raise Unparseable("prime notation")
            else:
                return node

    def group(self) -> _Node:
        """A macro argument: {..}, (..) or a single primary."""
        t = self.peek()
        if t == ("lp", "{"):
            self.take()
            node = self.expr()
            self.expect("rp", "}")
            return node
        return self.primary()

    def primary(self) -> _Node:
        t = self.take()
        kind, val = t
        if kind == "num":
            digits = val.replace(".", "")
            if "." in val:
                if val.endswith("."):
                    val = val[:-1]
                if val.startswith("."):
                    val = "0" + val
                return _Node(val, _cap(float(len(digits))), dec=True)
            stripped = digits.lstrip("0") or "0"
            mag = math.log10(max(int(stripped), 1)) if len(stripped) < 15 else float(len(stripped))
            return _Node(stripped, mag, intlit=True)
        if kind == "id":
            name = val
            if self.is_op("_"):
                self.take()
                sub = self.peek()
                if sub == ("lp", "{"):
                    self.take()
                    parts = []
                    while self.peek() is not None and self.peek() != ("rp", "}"):
                        p = self.take()
                        if p[0] not in ("num", "id"):
                            raise Unparseable("complex subscript")
                        parts.append(p[1])
                    self.expect("rp", "}")
                    name = f"{val}_{''.join(parts)}"
                elif sub is not None and sub[0] in ("num", "id"):
                    self.take()
                    name = f"{val}_{sub[1][0]}"
                    if len(sub[1]) > 1:  # x_12 -> x_1 * 2 is silly; keep digits together
                        name = f"{val}_{sub[1]}"
                else:
                    raise Unparseable("bad subscript")
                return _Node(f"Symbol('{name}')", None)
            if val == "e":
                return _Node("E", 0.4343)
            if val == "i":
                return _Node("I", 0.0)
            return _Node(f"Symbol('{val}')", None)
        if kind == "lp":
            if val in ("(", "["):
                node = self.expr()
                self.expect("rp", (")", "]"))
                return _Node(f"({node.src})", node.mag, dec=node.dec)
            if val == "{":
                node = self.expr()
                self.expect("rp", "}")
                return _Node(f"({node.src})", node.mag, dec=node.dec)
            if val in ("lfloor", "lceil"):
                node = self.expr()
                self.expect("rp", "r" + val[1:])
                fn = "floor" if val == "lfloor" else "ceiling"
                return _Node(f"{fn}({node.src})", node.mag, dec=node.dec)
        if kind == "op" and val == "|":
            self.abs_depth += 1
            node = self.expr()
            self.abs_depth -= 1
            self.expect("op", "|")
            return _Node(f"Abs({node.src})", node.mag, dec=node.dec)
        if kind == "cmd":
            return self.command(val)
        raise Unparseable(f"unexpected token {val!r}")

    def command(self, name: str) -> _Node:
        if name == "frac":
            a = self.group()
            b = self.group()
            node = self._bin(a, "/", b)
            return _Node(f"({node.src})", node.mag, dec=node.dec)
        if name == "binom":
            n = self.group()
            k = self.group()
            if n.mag is not None:
                self._fact(n, "")
            mag = None if n.mag is None else _cap(10.0 ** min(n.mag, 300.0) * 0.302)
            return _Node(f"binomial({n.src},{k.src})", mag, dec=n.dec or k.dec)
        if name == "sqrt":
            index = None
            if self.peek() == ("lp", "["):
                self.take()
                index = self.expr()
                self.expect("rp", "]")
            arg = self.group()
            if index is None:
                return _Node(f"sqrt({arg.src})", None if arg.mag is None else arg.mag / 2, dec=arg.dec)
            return _Node(f"_nroot({arg.src},{index.src})", arg.mag, dec=arg.dec or index.dec)
        if name == "pi":
            return _Node("pi", 0.4972)
        if name in ("infty", "infin"):
            return _Node("oo", 1.0)
        if name in _GREEK:
            sym = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi"}.get(name, name)
            return _Node(f"Symbol('{sym}')", None)
        if name in _FUNCS:
            return self.function(name)
        raise Unparseable(f"unsupported command \\{name}")

    def function(self, name: str) -> _Node:
        fn = _FUNCS[name]
        base = None
        power = None
        if name == "log" and self.is_op("_"):
            self.take()
            base = self.group()
        if self.is_op("^"):
            self.take()
            power = self.exponent()
        t = self.peek()
        if t is not None and t[0] == "lp" and t[1] in ("(", "[", "{"):
            arg = self.primary()
        else:
            # implicit argument: \sin 2x, \ln 2 -- factors up to an operator or function
            arg = self.power()
            while True:
                t = self.peek()
                if t is None or not self.starts_primary(t) or (t[0] == "cmd" and t[1] in _FUNCS) or t[0] == "num":
                    break
                arg = self._bin(arg, "*", self.power())
        if power is not None and power.src in ("(-(1))", "-1") and name in _INVERSE:
            fn = _INVERSE[name]
            power = None
        if base is not None:
            call = f"log({arg.src},{base.src})"
        else:
            call = f"{fn}({arg.src})"
        mag = arg.mag
        if name == "exp" and arg.mag is not None:
            mag = 10.0 ** min(arg.mag, 300.0) * 0.4343
            if mag > MAX_RESULT_DIGITS:
                raise Unparseable("exp too large")
        node = _Node(call, mag, dec=arg.dec or (base.dec if base else False))
        if power is not None:
            node = self._pow(_Node(f"({call})", mag, dec=node.dec), power)
        return node


def latex_to_sympy_str(s: str) -> str:
    """Convert a (normalised) LaTeX / plain-text math answer into sympy syntax."""
    return _LatexParser(s).parse().src


_SYMPY = None


def _sp():
    global _SYMPY
    if _SYMPY is None:
        import sympy

        _SYMPY = sympy
    return _SYMPY


@lru_cache(maxsize=1)
def _parse_env() -> tuple[dict, tuple]:
    sp = _sp()
    from sympy.parsing.sympy_parser import auto_number, rationalize

    def _nroot(x, n):
        if n.is_Integer and n.is_odd and x.is_number and x.is_extended_negative:
            return sp.real_root(x, n)
        return sp.root(x, n)

    names = [
        "Symbol", "Integer", "Float", "Rational", "E", "I", "pi", "oo", "sqrt", "root",
        "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "asec", "acsc",
        "sinh", "cosh", "tanh", "log", "exp", "factorial", "factorial2", "binomial", "Abs",
        "floor", "ceiling",
    ]
    g: dict[str, Any] = {n: getattr(sp, n) for n in names}
    g["_nroot"] = _nroot
    g["_log10"] = lambda x: sp.log(x, 10)
    g["__builtins__"] = {}
    return g, (auto_number, rationalize)


@lru_cache(maxsize=4096)
def _to_sympy(s: str):
    """(sympy expression, has_decimal_literal) for a scalar answer; raises Unparseable."""
    node = _LatexParser(s).parse()
    from sympy.parsing.sympy_parser import parse_expr

    g, transformations = _parse_env()
    try:
        expr = parse_expr(node.src, local_dict={}, global_dict=dict(g), transformations=transformations)
    except Unparseable:
        raise
    except Exception as e:  # noqa: BLE001 - sympy raises many types
        raise Unparseable(f"sympy could not build {node.src!r}: {type(e).__name__}") from e
    sp = _sp()
    if not isinstance(expr, sp.Basic):
        raise Unparseable("not an expression")
    if expr.has(sp.zoo, sp.nan):
        raise Unparseable("undefined value")
    return expr, node.dec


# --------------------------------------------------------------------------
# Rational fast path
# --------------------------------------------------------------------------

_DEC = r"(?:\d+\.\d*|\.\d+|\d+)"


def _rational(s: str) -> tuple[Fraction, bool] | None:
    """Exact value of a plain rational literal, and whether it was a decimal."""
    s = s.strip()
    m = re.fullmatch(r"([+-]?)\s*(\d+)\s+(\d+)\s*/\s*(\d+)", s) or re.fullmatch(
        r"([+-]?)\s*(\d+)\s*\\frac\{\s*(\d+)\s*\}\{\s*(\d+)\s*\}", s)
    if m:
        whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
        if den == 0 or num >= den:
            return None
        v = whole + Fraction(num, den)
        return (-v if m.group(1) == "-" else v), False
    t = re.sub(r"(?<![\d.])\s+|\s+(?![\d.])", "", s)  # "2 3" stays two numbers
    m = re.fullmatch(r"([+-]?)(\d*)\.(\d*)\\overline\{(\d+)\}", t)  # 0.1\overline{6}
    if m:
        head, rep = m.group(3), m.group(4)
        v = Fraction(int(m.group(2) or "0")) + Fraction(int(head or "0"), 10 ** len(head))
        v += Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(head))
        return (-v if m.group(1) == "-" else v), False
    if re.fullmatch(rf"[+-]?{_DEC}", t):
        return Fraction(t), "." in t
    m = re.fullmatch(rf"([+-]?{_DEC})[eE]([+-]?\d{{1,3}})", t)
    if m and re.search(r"\d", m.group(1)):
        return Fraction(m.group(1)) * Fraction(10) ** int(m.group(2)), True
    m = re.fullmatch(rf"([+-]?)\(?([+-]?{_DEC})\)?/\(?([+-]?{_DEC})\)?", t) or re.fullmatch(
        rf"([+-]?)\\frac\{{([+-]?{_DEC})\}}\{{([+-]?{_DEC})\}}", t)
    if m:
        num, den = Fraction(m.group(2)), Fraction(m.group(3))
        if den == 0:
            return None
        v = num / den
        return (-v if m.group(1) == "-" else v), "." in m.group(2) + m.group(3)
    return None


# --------------------------------------------------------------------------
# Numeric helpers
# --------------------------------------------------------------------------

_PROBES = [
    "0.5371", "-1.2139", "2.3719", "-0.3317", "1.7123", "-2.6113",
    "0.8291", "3.1977", "-0.7741", "1.1531", "-1.9013", "2.9273",
]


def _numval(e, prec: int = 50):
    """mpmath complex value of a constant expression, or None if not finite."""
    import mpmath

    sp = _sp()
    try:
        v = sp.N(e, prec)
    except Exception:  # noqa: BLE001
        return None
    if not v.is_number or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    try:
        re_, im_ = v.as_real_imag()
        re_ = sp.N(re_, prec)
        im_ = sp.N(im_, prec)
        if not (re_.is_Float or re_.is_zero) or not (im_.is_Float or im_.is_zero):
            return None
        with mpmath.workdps(prec):
            return mpmath.mpc(mpmath.mpf(str(re_)) if re_ else 0, mpmath.mpf(str(im_)) if im_ else 0)
    except Exception:  # noqa: BLE001
        return None


def _close(a, b, rel: float = REL_TOL, abs_: float = ABS_TOL) -> bool:
    import mpmath

    with mpmath.workdps(50):
        diff = abs(a - b)
        scale = max(abs(a), abs(b))
        return diff <= max(abs_, rel * scale)


def _exact_close(a, b) -> bool:
    return _close(a, b, EXACT_REL_TOL, EXACT_ABS_TOL)


def _probe_points(symbols) -> list[dict]:
    sp = _sp()
    syms = sorted(symbols, key=lambda x: x.name)
    pts = []
    for k in range(6):
        pts.append({s: sp.Rational(_PROBES[(k + 5 * j) % len(_PROBES)]) for j, s in enumerate(syms)})
    return pts


# --------------------------------------------------------------------------
# Scalar comparison
# --------------------------------------------------------------------------

_TEXT_RE = re.compile(r"[A-Za-z][A-Za-z '\-]*[A-Za-z]")


def _scalar_equal(a: str, b: str) -> tuple[bool, str]:
    sa, sb = _squash(a), _squash(b)
    if sa == sb:
        return True, "string"
    ta, tb = bool(_TEXT_RE.fullmatch(sa)), bool(_TEXT_RE.fullmatch(sb))
    if ta or tb:  # word answers ("yes", "no solution") are never parsed as products
        if ta and tb:
            return sa.casefold() == sb.casefold(), "string"
        return False, "string"
    ra, rb = _rational(a), _rational(b)
    if ra is not None and rb is not None:
        return ra[0] == rb[0], "rational"
    try:
        ea, deca = _to_sympy(sa)
    except Unparseable:
        return False, "unparseable"
    try:
        eb, decb = _to_sympy(sb)
    except Unparseable:
        return False, "unparseable"
    return _exprs_equal(ea, eb, deca or decb)


def _zero_like(d, scale) -> bool:
    """Is the constant `d` (a difference a - b) zero as far as sympy's adaptive
    30-digit evaluation can tell? evalf resolves cancellation itself, so
    e^{e^6} + 1/3 - e^{e^6} evaluates to 1/3 even though the two values agree to
    175 digits; a part it cannot resolve comes back with ~1 bit of precision
    ("0.e-164"), which means "zero to within the accuracy reached"."""
    sp = _sp()
    try:
        v = sp.N(d, 30)
        if v == 0:
            return True
        if not v.is_number or v.has(sp.oo, sp.zoo, sp.nan):
            return False
        worst = 0
        for part in v.as_real_imag():
            if part == 0:
                continue
            if not part.is_Float:
                part = sp.N(part, 30)
                if not part.is_Float:
                    return False
            if part._prec < 20:  # unresolved cancellation: consistent with 0
                continue
            worst = max(worst, abs(float(part)) if abs(part) < 1e300 else math.inf)
    except Exception:  # noqa: BLE001
        return False
    if worst == 0:
        return True
    return worst <= EXACT_ABS_TOL and worst <= EXACT_REL_TOL * float(min(scale, 1e300))


def _exprs_equal(ea, eb, approx: bool) -> tuple[bool, str]:
    sp = _sp()
    if ea == eb:
        return True, "symbolic"
    free = ea.free_symbols | eb.free_symbols
    d = ea - eb
    if d == 0:
        return True, "symbolic"
    if not free:
        if ea.is_Rational and eb.is_Rational:
            return ea == eb, "rational"
        if ea.has(sp.oo, -sp.oo) or eb.has(sp.oo, -sp.oo):
            return False, "symbolic"
        va, vb = _numval(ea), _numval(eb)
        if va is None or vb is None:
            try:
                return bool(sp.simplify(d) == 0), "symbolic"
            except Exception:  # noqa: BLE001
                return False, "unparseable"
        if not _close(va, vb):
            return False, "numeric"
        if not approx and _zero_like(d, max(abs(va), abs(vb))):
            return True, "numeric"
        # Within 1e-9 but not exactly equal, or written with decimals: only an
        # exact proof counts (1.41421356237 != sqrt(2), e^{25} + 1/3 != e^{25}).
        if sp.simplify(d) == 0:
            return True, "symbolic"
        return False, "numeric"
    # expressions with variables: probe, then (only if inconclusive) simplify
    valid = 0
    for pt in _probe_points(free):
        va, vb = _numval(ea.xreplace(pt), 40), _numval(eb.xreplace(pt), 40)
        if va is None or vb is None:
            continue
        if not _close(va, vb) or not _zero_like(d.xreplace(pt), max(abs(va), abs(vb))):
            return False, "numeric"
        valid += 1
    if valid >= 3 and not approx:
        return True, "numeric"
    try:
        if sp.expand(d) == 0 or sp.simplify(d) == 0:
            return True, "symbolic"
    except Exception:  # noqa: BLE001
        return False, "unparseable"
    return False, ("numeric" if valid >= 3 else "symbolic")


# --------------------------------------------------------------------------
# Structured answers: lists, sets, tuples, intervals, equations
# --------------------------------------------------------------------------

_OPEN, _CLOSE = "([{", ")]}"


def _depths(s: str) -> list[int]:
    """Bracket depth before each character (\\{ \\} count as brackets)."""
    out = []
    d = 0
    for c in s:
        if c in _CLOSE:
            d -= 1
        out.append(d)
        if c in _OPEN:
            d += 1
    return out


def _split_top(s: str, pattern: str) -> list[str]:
    dep = _depths(s)
    parts, last = [], 0
    for m in re.finditer(pattern, s):
        if m.start() < len(dep) and dep[m.start()] == 0 and m.start() >= last:
            if m.start() > 0 and s[m.start() - 1] == "\\" and m.group(0).strip() in (",", ";"):
                continue  # "\," spacing survived
            parts.append(s[last : m.start()])
            last = m.end()
    parts.append(s[last:])
    return [p.strip() for p in parts]


def _outer_group(s: str) -> tuple[str, str, str] | None:
    """If s is one bracketed group '(..)', '[..)', '\\{..\\}', return (open, inner, close)."""
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        dep = _depths(inner)
        if dep and min(dep + [0]) < 0:
            return None
        return "{", inner, "}"
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        dep = _depths(s)
        if any(d == 0 for d in dep[1:-1]):  # closed before the end
            return None
        return s[0], s[1:-1], s[-1]
    return None


_VAR_RE = re.compile(r"(?:[A-Za-z](?:_\{?\w+\}?)?|\\[A-Za-z]+)(?:\([A-Za-z,\s]*\))?")
_INEQ_RE = r"\\leq|\\geq|\\lt|\\gt|<=|>=|<|>"


def _parse_answer(s: str, depth: int = 0) -> tuple:
    if depth > 6:
        raise Unparseable("structure too deep")
    s = s.strip()
    if not s:
        raise Unparseable("empty")
    s = re.sub(r"^(?:[A-Za-z]|\\[A-Za-z]+)\s*\\in\s+", "", s)  # x \in [1, 2)
    s = re.sub(r"^(?:[A-Za-z]|\\[A-Za-z]+)\s*\\in(?=[\\(\[{])", "", s)
    # unions
    parts = _split_top(s, r"\\cup(?![A-Za-z])|\s+U\s+")
    if len(parts) > 1:
        return ("union", [_parse_answer(p, depth + 1) for p in parts])
    # lists of solutions
    parts = _split_top(s, r"\s*(?:[,;]\s*(?:or|and)\b|,|;|\bor\b|\band\b)\s*")
    if len(parts) > 1:
        if len(parts) > MAX_ITEMS or any(not p for p in parts):
            raise Unparseable("bad list")
        nodes = [_parse_answer(p, depth + 1) for p in parts]
        binds = {n[1] for n in nodes if n[0] == "bind"}
        if len(binds) <= 1:
            nodes = [n[2] if n[0] == "bind" else n for n in nodes]
        return ("set", nodes, True)
    return _parse_single(s, depth)


def _parse_single(s: str, depth: int) -> tuple:
    mat = re.fullmatch(r"\\begin\{([pbBvV]?matrix)\}(.*)\\end\{\1\}", s, re.S)
    if mat:
        rows = [r for r in re.split(r"\\\\", mat.group(2)) if r.strip()]
        cells = [[c.strip() for c in r.split("&")] for r in rows]
        if len(cells) == 1 or all(len(r) == 1 for r in cells):
            flat = [c for r in cells for c in r]
            return ("seq", "(", [_parse_answer(c, depth + 1) for c in flat], ")")
        return ("seq", "(", [("seq", "(", [_parse_answer(c, depth + 1) for c in r], ")") for r in cells], ")")
    g = _outer_group(s)
    if g is not None:
        open_, inner, close = g
        if open_ == "{":
            items = [p for p in _split_top(inner, r"\s*[,;]\s*")] if inner.strip() else []
            if len(items) > MAX_ITEMS or any(not p for p in items):
                raise Unparseable("bad set")
            return ("set", [_parse_answer(p, depth + 1) for p in items], False)
        items = _split_top(inner, r"\s*,\s*")
        if len(items) > 1:
            if len(items) > MAX_ITEMS or any(not p for p in items):
                raise Unparseable("bad tuple")
            return ("seq", open_, [_parse_answer(p, depth + 1) for p in items], close)
    # +-
    pm = _split_top(s, r"\\pm(?![A-Za-z])|\\mp(?![A-Za-z])|\+-")
    if len(pm) == 2 and pm[1]:
        head = pm[0]
        lhs = ""
        eq = _split_top(head, r"(?<![<>!\\])=")
        if len(eq) == 2:
            lhs, head = eq[0] + "=", eq[1]
        if head:
            a = f"{lhs}{head}+({pm[1]})"
            b = f"{lhs}{head}-({pm[1]})"
        else:
            a, b = f"{lhs}{pm[1]}", f"{lhs}-({pm[1]})"
        return ("set", [_parse_single(a, depth + 1), _parse_single(b, depth + 1)], True)
    # equations
    eq = _split_top(s, r"(?<![<>!\\])=(?!=)")
    if len(eq) >= 2:
        if any(not p for p in eq):
            raise Unparseable("dangling =")
        lhs, rhs = eq[0], eq[-1]
        if len(eq) == 2 and _VAR_RE.fullmatch(lhs.replace(" ", "")):
            return ("bind", lhs.replace(" ", ""), _parse_answer(rhs, depth + 1))
        if len(eq) > 2 or not re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", lhs)):
            # "a = b = 3" or a worked computation "7 \times 7 = 49": the last part is the value
            return _parse_answer(rhs, depth + 1)
        return ("eq", lhs, rhs)
    # inequalities -> intervals
    ineq = re.split(rf"\s*({_INEQ_RE})\s*", s)
    if len(ineq) in (3, 5):
        iv = _inequality_interval(ineq)
        if iv is not None:
            return iv
        return ("scalar", s)
    if s.startswith("\\{") or s.endswith("\\}"):
        raise Unparseable("unbalanced set")
    return ("scalar", _strip_word_units(s))


def _inequality_interval(p: list[str]) -> tuple | None:
    def is_var(x: str) -> bool:
        return bool(re.fullmatch(r"[A-Za-z]|\\[A-Za-z]+", x.strip()))

    less = {"<": ")", "\\lt": ")", "<=": "]", "\\leq": "]"}
    more = {">": ")", "\\gt": ")", ">=": "]", "\\geq": "]"}
    flip = {")": "(", "]": "["}
    if len(p) == 3:
        a, op, b = p
        if is_var(a) and not is_var(b):
            if op in less:
                return ("seq", "(", [("scalar", "-\\infty"), ("scalar", b)], less[op])
            return ("seq", flip[more[op]], [("scalar", b), ("scalar", "\\infty")], ")")
        if is_var(b) and not is_var(a):
            if op in less:  # a < x
                return ("seq", flip[less[op]], [("scalar", a), ("scalar", "\\infty")], ")")
            return ("seq", "(", [("scalar", "-\\infty"), ("scalar", a)], more[op])
        return None
    a, op1, x, op2, b = p
    if not is_var(x):
        return None
    if op1 in less and op2 in less:
        return ("seq", flip[less[op1]], [("scalar", a), ("scalar", b)], less[op2])
    if op1 in more and op2 in more:
        return ("seq", flip[more[op2]], [("scalar", b), ("scalar", a)], more[op1])
    return None


def _combine(results: list[tuple[bool, str]], ok: bool, method: str) -> tuple[bool, str]:
    if not ok and any(m == "unparseable" for _, m in results):
        return False, "unparseable"
    return ok, method


def _set_equal(xs: list, ys: list) -> tuple[bool, str]:
    seen: list[tuple[bool, str]] = []

    def covered(a_items, b_items, swap):
        for a in a_items:
            hit = False
            for b in b_items:
                r = _cmp(b, a) if swap else _cmp(a, b)
                seen.append(r)
                if r[0]:
                    hit = True
                    break
            if not hit:
                return False
        return True

    ok = covered(xs, ys, False) and covered(ys, xs, True)
    return _combine(seen, ok, "set")


def _seq_equal(a: tuple, b: tuple) -> tuple[bool, str]:
    method = "tuple" if (a[1], a[3]) == ("(", ")") and (b[1], b[3]) == ("(", ")") else "interval"
    if (a[1], a[3]) != (b[1], b[3]) or len(a[2]) != len(b[2]):
        return False, method
    seen = []
    for x, y in zip(a[2], b[2]):
        r = _cmp(x, y)
        seen.append(r)
        if not r[0]:
            return _combine(seen, False, method)
    return True, method


def _equation_equal(l1: str, r1: str, l2: str, r2: str) -> tuple[bool, str]:
    try:
        d1 = _to_sympy(_squash(l1))[0] - _to_sympy(_squash(r1))[0]
        d2 = _to_sympy(_squash(l2))[0] - _to_sympy(_squash(r2))[0]
    except Unparseable:
        return False, "unparseable"
    if d1 == d2 or d1 == -d2:
        return True, "equation"
    free = d1.free_symbols | d2.free_symbols
    if not free:
        return False, "equation"
    ratio = None
    valid = 0
    for pt in _probe_points(free):
        v1, v2 = _numval(d1.xreplace(pt), 40), _numval(d2.xreplace(pt), 40)
        if v1 is None or v2 is None or abs(v2) < 1e-20:
            continue
        if abs(v1) < 1e-20:
            return False, "equation"
        q = v1 / v2
        if ratio is None:
            ratio = q
        elif not _exact_close(q, ratio):
            return False, "equation"
        valid += 1
    if valid >= 3:  # confirm the constant ratio exactly: d1 - c * d2 == 0 at the probes
        c = None
        for pt in _probe_points(free):
            if c is None:
                v2 = _numval(d2.xreplace(pt), 40)
                if v2 is not None and abs(v2) > 1e-20:
                    c = (d1 / d2).xreplace(pt)  # exact: the probe points are rationals
                continue
            v1 = _numval(d1.xreplace(pt), 40)
            if v1 is not None and not _zero_like((d1 - c * d2).xreplace(pt), abs(v1)):
                return False, "equation"
    return valid >= 3, "equation"


def _as_eq(node: tuple) -> tuple[str, str] | None:
    if node[0] == "eq":
        return node[1], node[2]
    if node[0] == "bind" and node[2][0] == "scalar" and "(" not in node[1]:
        return node[1], node[2][1]
    return None


def _cmp(a: tuple, b: tuple) -> tuple[bool, str]:
    ka, kb = a[0], b[0]
    if ka == "bind" and kb == "bind":
        if a[1] == b[1]:
            return _cmp(a[2], b[2])
        ea, eb = _as_eq(a), _as_eq(b)
        if ea and eb:
            return _equation_equal(*ea, *eb)
        return False, "equation"
    if ka == "eq" or kb == "eq":
        ea, eb = _as_eq(a), _as_eq(b)
        if ea and eb:
            return _equation_equal(*ea, *eb)
        return False, "equation"
    if ka == "bind":
        return _cmp(a[2], b)
    if kb == "bind":
        return _cmp(a, b[2])
    # "1, 2" written without parentheses vs the tuple (1, 2): compare in order
    if ka == "set" and a[2] and kb == "seq" and (b[1], b[3]) == ("(", ")"):
        return _seq_equal(("seq", "(", a[1], ")"), b)
    if kb == "set" and b[2] and ka == "seq" and (a[1], a[3]) == ("(", ")"):
        return _seq_equal(a, ("seq", "(", b[1], ")"))
    # a collection vs a single item: {3} == 3, "x = 1 or x = 1" == 1
    if ka in ("set", "union") and kb not in ("set", "union"):
        return _set_equal(a[1], [b])
    if kb in ("set", "union") and ka not in ("set", "union"):
        return _set_equal([a], b[1])
    if ka == "scalar" and kb == "scalar":
        return _scalar_equal(a[1], b[1])
    if ka == "set" and kb == "set":
        return _set_equal(a[1], b[1])
    if ka == "union" and kb == "union":
        return _set_equal(a[1], b[1])
    if ka == "seq" and kb == "seq":
        return _seq_equal(a, b)
    kinds = {ka, kb}
    if kinds & {"seq", "union"}:
        return False, "interval" if "union" in kinds or "[" in (a[1:2] + b[1:2]) else "tuple"
    return False, "set"


def _equivalent(pred: str, ref: str) -> tuple[bool, str, str | None]:
    """(equal, method, error) -- never raises."""
    p, r = normalize_answer(pred), normalize_answer(ref)
    if not p or not r:
        return False, "unparseable", "empty answer"
    for side in (p, r):
        why = _guard(side)
        if why:
            return False, "unparseable", why
    if _squash(p) == _squash(r):
        return True, "string", None
    try:
        pa = _parse_answer(p)
    except Unparseable as e:
        return False, "unparseable", f"prediction: {e}"
    try:
        ra = _parse_answer(r)
    except Unparseable as e:
        return False, "unparseable", f"reference: {e}"
    try:
        ok, method = _cmp(pa, ra)
    except (Unparseable, RecursionError, MemoryError, OverflowError) as e:
        return False, "unparseable", f"{type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 - a sympy bug must not crash a batch
        return False, "unparseable", f"{type(e).__name__}: {e}"
    return ok, method, None


def answers_equivalent(pred: str, ref: str) -> tuple[bool, str]:
    """Is the answer `pred` equal to the reference `ref`? Returns (equal, method).

    Runs in-process with no timeout; use MathVerifier.verify_batch for untrusted input.
    """
    ok, method, _ = _equivalent(pred, ref)
    return ok, method


# --------------------------------------------------------------------------
# One check (runs inside a worker process)
# --------------------------------------------------------------------------

def _check(response: str, reference: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    response = "" if response is None else str(response)
    reference = "" if reference is None else str(reference)
    answer, how = extract_answer(response)
    if re.search(r"\\(?:boxed|fbox)", reference):  # a worked solution given as reference
        reference = _last_boxed(reference) or reference
    details: dict[str, Any] = {"extract_method": how, "match_method": None}
    if answer is None:
        reason, passed = "no_answer", False
    else:
        ok, method, err = _equivalent(answer, reference)
        details["match_method"] = method
        if err:
            details["error"] = err[:300]
        passed = ok
        reason = "correct" if ok else ("unparseable" if method == "unparseable" else "wrong")
    return {
        "passed": passed,
        "reason": reason,
        "extracted": answer,
        "duration_s": time.perf_counter() - t0,
        "details": details,
    }


def _safe_check(response: str, reference: str) -> dict[str, Any]:
    try:
        return _check(response, reference)
    except BaseException as e:  # noqa: BLE001 - MemoryError, RecursionError, ...
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return {
            "passed": False,
            "reason": "unparseable",
            "extracted": None,
            "duration_s": 0.0,
            "details": {"extract_method": None, "match_method": "unparseable", "error": f"{type(e).__name__}"},
        }


# --------------------------------------------------------------------------
# Worker pool with hard timeouts
# --------------------------------------------------------------------------

def _worker_main(conn) -> None:  # pragma: no cover - runs in the child
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = WORKER_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(WORKER_MEMORY_BYTES, hard)
        if soft == resource.RLIM_INFINITY or soft > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except Exception:  # noqa: BLE001 - not available everywhere
        pass
    # warm up sympy and the parser so the first real check is not slow
    _safe_check("\\boxed{2\\sqrt{2}}", "\\sqrt{8}")
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        job, response, reference = msg
        res = _safe_check(response, reference)
        try:
            conn.send(("result", job, res))
        except (OSError, ValueError):
            return


class _Worker:
    def __init__(self, ctx):
        parent, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child,), name="math-verifier", daemon=False)
        self.proc.start()
        child.close()
        self.conn = parent
        self.ready = False
        self.pid = self.proc.pid
        self.job: int | None = None  # index of the item being checked, for introspection

    def kill(self) -> None:
        try:
            self.proc.terminate()
            self.proc.join(0.5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(2.0)
        except Exception:  # noqa: BLE001
            pass
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except Exception:  # noqa: BLE001
            pass


class _Pool:
    """Workers shared by all threads; each batch checks out the workers it uses."""

    def __init__(self) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.cond = threading.Condition()
        self.idle: list[_Worker] = []
        self.all: set[_Worker] = set()
        self.closed = False

    def checkout(self, n: int) -> list[_Worker]:
        with self.cond:
            if self.closed:
                raise RuntimeError("math verifier pool is shut down")
            while len(self.all) < n:
                w = _Worker(self.ctx)
                self.all.add(w)
                self.idle.append(w)
            while not self.idle:
                self.cond.wait()
            take = self.idle[:n]
            del self.idle[:n]
            return take

    def checkin(self, ws: list[_Worker]) -> None:
        with self.cond:
            for w in ws:
                if w in self.all:
                    self.idle.append(w)
            self.cond.notify_all()

    def replace(self, w: _Worker) -> _Worker:
        w.kill()
        new = _Worker(self.ctx)
        with self.cond:
            self.all.discard(w)
            self.all.add(new)
        return new

    def pids(self) -> list[int]:
        with self.cond:
            return sorted(w.pid for w in self.all)

    def busy_pids(self) -> list[int]:
        with self.cond:
            return sorted(w.pid for w in self.all if w.job is not None)

    def shutdown(self) -> None:
        with self.cond:
            self.closed = True
            workers = list(self.all)
            self.all.clear()
            self.idle.clear()
        for w in workers:
            w.stop()
        deadline = time.monotonic() + 2.0
        for w in workers:
            w.proc.join(max(0.0, deadline - time.monotonic()))
            w.kill()


_POOL: _Pool | None = None
_POOL_PID: int | None = None
_POOL_LOCK = threading.Lock()


def _get_pool() -> _Pool:
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != os.getpid() or _POOL.closed:
            _POOL = _Pool()
            _POOL_PID = os.getpid()
        return _POOL


@atexit.register
def _shutdown_pool() -> None:
    global _POOL
    pool = _POOL
    if pool is not None and _POOL_PID == os.getpid():
        pool.shutdown()
    _POOL = None


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _timeout_verdict(elapsed: float, timeout_s: float, match_method: str = "timeout", error: str | None = None) -> Verdict:
    details: dict[str, Any] = {"extract_method": None, "match_method": match_method, "timeout_s": timeout_s}
    if error:
        details["error"] = error
    return Verdict(False, "timeout", None, NAME, VERSION, elapsed, details)


def _run_batch(pairs: list[tuple[str, str]], timeout_s: float, workers: int | None) -> list[Verdict]:
    n = len(pairs)
    if n == 0:
        return []
    pool = _get_pool()
    want = max(1, min(workers or _default_workers(), n))
    ws = pool.checkout(want)
    results: list[Verdict | None] = [None] * n
    queue = deque(range(n))
    busy: dict[_Worker, tuple[int, float, float]] = {}
    start_fail = 0
    try:
        while queue or busy:
            now = time.monotonic()
            for i, w in enumerate(ws):
                if queue and w.ready and w not in busy and not w.proc.is_alive():
                    ws[i] = w = pool.replace(w)  # died while idle (OOM killer, ...): not this item's fault
                if queue and w.ready and w not in busy:
                    idx = queue.popleft()
                    resp, ref = pairs[idx]
                    try:
                        w.conn.send((idx, resp, ref))
                    except (OSError, ValueError):
                        queue.appendleft(idx)
                        continue  # the dead worker is noticed below
                    busy[w] = (idx, now + timeout_s, now)
                    w.job = idx
            waitables: list[Any] = []
            owner: dict[Any, _Worker] = {}
            for w in ws:
                for h in (w.conn, w.proc.sentinel):
                    waitables.append(h)
                    owner[h] = w
            if busy:
                wait_t = max(0.0, min(d for _, d, _ in busy.values()) - now)
            else:
                wait_t = WORKER_START_TIMEOUT_S
            fired = _mp_wait(waitables, timeout=wait_t)
            touched: list[_Worker] = []
            for h in fired:
                w = owner[h]
                if w not in touched:
                    touched.append(w)
            if not fired and not busy:
                raise RuntimeError("math verifier workers did not start")
            for w in touched:
                dead = False
                try:
                    while w.conn.poll():
                        msg = w.conn.recv()
                        if msg[0] == "ready":
                            w.ready = True
                        elif msg[0] == "result":
                            _, idx, res = msg
                            if w in busy and busy[w][0] == idx:
                                del busy[w]
                                w.job = None
                                results[idx] = Verdict(
                                    res["passed"], res["reason"], res["extracted"], NAME, VERSION,
                                    res["duration_s"], res["details"],
                                )
                except (EOFError, OSError):
                    dead = True
                if dead or not w.proc.is_alive():
                    if w in busy:
                        idx, _, t0 = busy.pop(w)
                        code = w.proc.exitcode
                        results[idx] = _timeout_verdict(
                            time.monotonic() - t0, timeout_s, "crashed", f"worker exited with code {code}")
                    elif not w.ready:
                        start_fail += 1
                        if start_fail > 3:
                            raise RuntimeError(
                                "math verifier workers keep dying at start-up; a script that "
                                "verifies at import time must guard its entry point with "
                                "`if __name__ == '__main__':` (workers are spawned, not forked)")
                    new = pool.replace(w)
                    ws[ws.index(w)] = new
            now = time.monotonic()
            for w, (idx, deadline, t0) in list(busy.items()):
                if now >= deadline:
                    del busy[w]
                    results[idx] = _timeout_verdict(now - t0, timeout_s)
                    new = pool.replace(w)
                    ws[ws.index(w)] = new
    except BaseException:
        # we do not know what the busy workers are doing: replace them
        for w in list(busy):
            ws[ws.index(w)] = pool.replace(w)
        raise
    finally:
        pool.checkin(ws)
    return [r if r is not None else _timeout_verdict(0.0, timeout_s, "lost") for r in results]


# --------------------------------------------------------------------------
# Public verifier
# --------------------------------------------------------------------------

class MathVerifier:
    """Judge math answers; every check runs in a killable worker process."""

    name = NAME
    version = VERSION

    def __init__(self, timeout_s: float = 5.0, workers: int | None = None):
        self.timeout_s = timeout_s
        self.workers = workers

    def verify(self, response: str, reference: str) -> Verdict:
        return self.verify_batch([(response, reference)], timeout_s=self.timeout_s, workers=1)[0]

    def verify_batch(
        self,
        pairs: list[tuple[str, str]],
        timeout_s: float = 5.0,
        workers: int | None = None,
    ) -> list[Verdict]:
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        pairs = [("" if r is None else str(r), "" if f is None else str(f)) for r, f in pairs]
        return _run_batch(pairs, float(timeout_s), workers if workers is not None else self.workers)
