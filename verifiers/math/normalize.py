"""Normalisation policy (`normalize_answer`, applied to extracted answers and to
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
"""

from __future__ import annotations

import re

from verifiers.math.guards import MAX_ANSWER_CHARS
from verifiers.math.text import last_match, match_brace, strip_math_delims

_UNICODE = [
    ("\u2212", "-"), ("\u2013", "-"), ("\u00d7", "\\times "), ("\u00b7", "\\cdot "),
    ("\u22c5", "\\cdot "), ("\u00f7", "\\div "), ("\u221a", "\\sqrt"), ("\u03c0", "\\pi "),
    ("\u221e", "\\infty "), ("\u2264", "\\leq "), ("\u2265", "\\geq "), ("\u2260", "\\neq "),
    ("\u00b0", ""), ("\u222a", "\\cup "), ("\u2208", "\\in "), ("\u00b1", "\\pm "),
    ("\u2205", "\\emptyset "), ("\u00a0", " "), ("\u2009", " "), ("\u202f", " "),
]
_TEXT_CMD_RE = re.compile(
    r"\\(text|textbf|textit|textrm|textnormal|textsf|mathrm|mathbf|mathit|mathsf|mbox|operatorname)\s*\{"
)
_UNIT_TAIL_RE = re.compile(r"\s*(?:\^\s*\{?\s*[23]\s*\}?)?\s*\.?\s*")  # after a unit: ^2, ^3, "."
_UNIT_WORDS_RE = re.compile(r"[A-Za-z]+(?:\^\{?[23]\}?)?(?:(?:\s+|\s*/\s*|-)[A-Za-z]+(?:\^\{?[23]\}?)?)*")
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
_THOUSANDS_RE = re.compile(r"((?:[A-Za-z]\s*=\s*)?)([+-]?)(\d{1,3}(?:,\d{3})+)(\.\d+)?")


def normalize_answer(s: str) -> str:
    """Canonical string form of an answer (policy in the module docstring)."""
    if s is None:
        return ""
    s = str(s).strip()
    if len(s) > 4 * MAX_ANSWER_CHARS:
        return s  # the guard rejects it anyway; keep the regexes below linear-time
    for step in (_unify_notation, _unify_spacing, _drop_decorations, _expand_shorthands, _tidy):
        s = step(s)
    return s


def strip_word_units(s: str) -> str:
    """Drop trailing unit words after a purely numeric/LaTeX head: "12 cm" -> "12"."""
    m = re.fullmatch(r"(.*?[\d}])\s+([A-Za-z][A-Za-z\s./^{}\d-]*?)\.?", s)
    if not m:
        return s
    head, tail = m.group(1), m.group(2)
    if re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", head)) or not _UNIT_WORDS_RE.fullmatch(tail):
        return s
    words = re.findall(r"[A-Za-z]+", tail)
    if any(w.lower() in _UNIT_WORD_STOP for w in words) or not any(len(w) >= 2 for w in words):
        return s
    return head


def _unify_notation(s: str) -> str:
    """Unicode symbols, math delimiters, \\dfrac ...; first, a command written with a doubled
    backslash (``-2 \\\\le x``, ``\\\\frac{4}{3}``: over-escaped text, since a line break followed
    by the letters "le" or "frac" means nothing in an answer) is that command."""
    s = _DOUBLED_COMMAND_RE.sub(r"\\", s)
    for a, b in _UNICODE:
        s = s.replace(a, b)
    s = strip_math_delims(s.replace("\\$", "").replace("$", ""))
    s = re.sub(r"\\(?:dfrac|tfrac|cfrac)", r"\\frac", s)
    s = re.sub(r"\\(?:dbinom|tbinom)", r"\\binom", s)
    s = re.sub(r"\\(?:left|right)\s*\.", "", s)
    s = re.sub(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)(?![A-Za-z])", "", s)
    s = s.replace("\\lbrace", "\\{").replace("\\rbrace", "\\}")
    s = re.sub(r"\\(?:displaystyle|textstyle)(?![A-Za-z])", "", s)
    return s.replace("\\!", "")


def _unify_spacing(s: str) -> str:
    s = re.sub(r"(\d)\s*\{,\}\s*(?=\d{3})", r"\1,", s)  # 1{,}234 -> 1,234
    s = re.sub(r"(?<=\d)\\,(?=\d{3}(?!\d))", ",", s)  # 1\,234 -> 1,234
    s = re.sub(r"(?<!\\)\\[,;:> ]|~|\\q?quad(?![A-Za-z])", " ", s)
    return re.sub(r"\\(?:emptyset|varnothing)(?![A-Za-z])", r"\\{\\}", s)


def _drop_decorations(s: str) -> str:
    """Degrees, percent and \\text{..}-like groups (trailing ones are units)."""
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![A-Za-z])|\\circ(?![A-Za-z])|\\degree(?![A-Za-z])", "", s)
    s = s.replace("\\%", "").replace("%", "")
    m = _TEXT_CMD_RE.match(s)
    if m and match_brace(s, m.end() - 1) == len(s) - 1:
        return s[m.end() : -1].strip()  # a lone group is the whole answer
    while (head := _without_trailing_unit(s)) is not None:  # "5\text{ m}\text{/s}"
        s = head
    return _unwrap_text_cmds(s)


def _without_trailing_unit(s: str) -> str | None:
    """`s` minus its trailing \\text{unit}, or None if it does not end in one."""
    last = last_match(_TEXT_CMD_RE, s)
    if last is None or last.start() == 0:
        return None
    close = match_brace(s, last.end() - 1)
    if close < 0 or not _UNIT_TAIL_RE.fullmatch(s[close + 1 :]):
        return None
    if not _is_unit(last.group(1), s[last.end() : close].strip()):
        return None
    head = s[: last.start()].rstrip()
    if not head or head.endswith(("=", "\\in")):
        return None
    return head


def _is_unit(cmd: str, content: str) -> bool:
    if cmd in ("mathrm", "mathbf", "mathit", "mathsf", "operatorname") and len(content) <= 1:
        return False  # \mathrm{e}, \mathrm{i}: constants, not units
    if content.lower() in ("or", "and") or not re.search(r"[A-Za-z]", content):
        return False
    # "5\text{ million}" is not a unit
    return not any(w.lower() in _UNIT_WORD_STOP for w in re.findall(r"[A-Za-z]+", content) if len(w) > 1)


def _unwrap_text_cmds(s: str) -> str:
    out = []
    pos = 0
    for m in _TEXT_CMD_RE.finditer(s):
        close = match_brace(s, m.end() - 1)
        if m.start() < pos or close < 0:
            continue
        content = s[m.end() : close]
        word = content.strip().lower()
        out += [s[pos : m.start()], f" {word} " if word in ("or", "and") else content]
        pos = close + 1
    out.append(s[pos:])
    return "".join(out)


_DOUBLED_COMMAND_RE = re.compile(
    r"(?<!\\)\\\\(?=(?:leq?|geq?|lt|gt|neq?|leqslant|geqslant|d?t?frac|sqrt|left|right|pi|cdot|times"
    r"|infty|pm|mp|in|cup|cap|text|mathrm|circ|sin|cos|tan|log|ln|theta|alpha|beta)(?![A-Za-z]))"
)


def _expand_shorthands(s: str) -> str:
    """\\frac12, \\frac{1}2, \\frac1{2}, \\sqrt2, \\le, infinity -> their full forms."""
    s = re.sub(r"\\frac\s*([0-9A-Za-z])\s*([0-9A-Za-z])", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*\{([^{}]*)\}\s*([0-9A-Za-z])", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*([0-9A-Za-z])\s*\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\sqrt\s*([0-9A-Za-z])", r"\\sqrt{\1}", s)
    s = re.sub(r"\\(?:le|leqslant)(?![A-Za-z])", r"\\leq", s)
    s = re.sub(r"\\(?:ge|geqslant)(?![A-Za-z])", r"\\geq", s)
    s = re.sub(r"\\ne(?![A-Za-z])", r"\\neq", s)
    return re.sub(r"(?<![A-Za-z\\])(?:infinity|inf)(?![A-Za-z])", r"\\infty", s)


def _tidy(s: str) -> str:
    """Whitespace, trailing punctuation and words, thousands separators, (B) -> B."""
    s = re.sub(r"\s+", " ", s.strip())
    s = re.sub(r"[.;,]+$", "", s).strip()  # trailing sentence punctuation
    s = re.sub(r"\s*\b(?:percent|degrees?)$", "", s).strip()
    s = strip_word_units(s).strip()
    m = _THOUSANDS_RE.fullmatch(s)
    if m:
        s = m.group(1) + m.group(2) + m.group(3).replace(",", "") + (m.group(4) or "")
    m = re.fullmatch(r"\(\s*([A-J])\s*\)", s)
    if m:
        s = m.group(1)
    return re.sub(r"\s+", " ", s).strip()
