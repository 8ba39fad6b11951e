"""Finding the final answer in a model response.

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
   ``a/b``, thousands separators, a leading minus sign); when that number closes a
   bracketed list of numbers (``The point is (3, 4)``, ``[0, 1)``) the whole list.
   Recorded as such in the verdict details so callers can decide whether to trust it.
6. ``(None, "none")`` -- nothing found; the verdict reason is ``no_answer``.

Whatever a method finds is normalised (`normalize.normalize_answer`); a method
whose find normalises to nothing does not count.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from verifiers.math.guards import MAX_ANSWER_CHARS
from verifiers.math.normalize import normalize_answer
from verifiers.math.text import last_match, match_brace, strip_math_delims

ANY_BOX_RE = re.compile(r"\\(?:boxed|fbox)")
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOX_BARE_RE = re.compile(r"\\boxed[ \t]+([^\s${}\\]+)")
_PHRASE_RE = re.compile(
    r"(?:\bfinal\s+answer\s*(?:is\b|:)|\bthe\s+answer\s+is\b|\banswer\s*:)", re.IGNORECASE
)
_CONNECTOR_RE = re.compile(
    r"(?:\s|[,;&$]|\\[()\[\]]|\\q?quad(?![A-Za-z])|\\[,;:! ]|\b(?:and|or)\b"
    r"|\\text\s*\{\s*(?:,|and|or)?\s*\})*"
)
_MATH_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_BOLD_RE = re.compile(r"\*\*([^*\n]+?)\*\*")
_NUM = r"-?\d+(?:\.\d+)?(?:/\d+)?"
_NUM_TUPLE_RE = re.compile(rf"[(\[]\s*{_NUM}(?:\s*,\s*{_NUM})+\s*[)\]]")
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


def extract_answer(text: str) -> tuple[str | None, str]:
    """Return (normalised answer, method); see the module docstring for the order."""
    if not isinstance(text, str) or not text.strip():
        return None, "none"
    for method, find in _METHODS:
        raw = find(text)
        if raw is None:
            continue
        ans = normalize_answer(raw)
        if ans:
            return ans, method
    return None, "none"


def last_boxed(text: str) -> str | None:
    """Content of the last complete box, with directly nested boxes unwrapped."""
    found: list[tuple[int, str]] = []
    pos = 0
    while m := _BOX_RE.search(text, pos):
        close = match_brace(text, m.end() - 1)
        if close < 0:  # truncated box: ignore it
            pos = m.end()
            continue
        content = text[m.end() : close]
        if content.strip():
            found.append((m.start(), content))
        pos = close + 1  # boxes nested inside this one belong to it
    found += [(m.start(), m.group(1)) for m in _BOX_BARE_RE.finditer(text)]
    if not found:
        return None
    return _unwrap_boxes(max(found, key=lambda t: t[0])[1].strip())


def boxed_list(text: str) -> str | None:
    """The contents of two or more complete boxes joined only by connectors (spacing, commas,
    semicolons, ``and``/``or``, ``\\text{and}``, ``\\quad``, math delimiters), as one list
    ``"A, B"``; None otherwise (one box, or prose between the boxes: ``\\boxed{1} no \\boxed{2}``)."""
    boxes: list[tuple[int, int, str]] = []
    pos = 0
    while m := _BOX_RE.search(text, pos):
        close = match_brace(text, m.end() - 1)
        if close < 0:
            pos = m.end()
            continue
        boxes.append((m.start(), close + 1, _unwrap_boxes(text[m.end() : close].strip())))
        pos = close + 1
    if len(boxes) < 2 or any(not c for _, _, c in boxes):
        return None
    if any(not _CONNECTOR_RE.fullmatch(text[a[1] : b[0]]) for a, b in zip(boxes, boxes[1:])):
        return None
    return ", ".join(c for _, _, c in boxes)


def last_math_span(text: str) -> str | None:
    """The content of the last math span (``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``) when
    the text's last number lies inside it (``Therefore $x \\geq 5$ is the solution.``: the
    last-number fallback read a part of this span); None otherwise."""
    num = last_match(_LAST_NUM_RE, text)
    span = last_match(_MATH_SPAN_RE, text)
    if num is None or span is None:
        return None
    group = next(g for g in range(1, 5) if span.group(g) is not None)
    if not span.start(group) <= num.start() < num.end() <= span.end(group):
        return None
    return span.group(group).strip() or None


def _unwrap_boxes(content: str) -> str:
    """\\boxed{\\boxed{5}} -> 5"""
    while (m := _BOX_RE.match(content)) and match_brace(content, m.end() - 1) == len(content) - 1:
        content = content[m.end() : -1].strip()
    return content


def _phrase_answer(text: str) -> str | None:
    m = last_match(_PHRASE_RE, text)
    if m is None:
        return None
    return _after_phrase(text[m.end() :]) or None


def _after_phrase(rest: str) -> str:
    rest = re.sub(r"^[\s*:_]*", "", rest)
    for a, b in (("$$", "$$"), ("\\[", "\\]")):  # a display-math block right after the phrase
        if rest.startswith(a):
            end = rest.find(b, len(a))
            if end > 0:
                return rest[len(a) : end]
    line = rest.split("\n", 1)[0]
    m = _SENTENCE_CUT_RE.search(line)
    if m:
        line = line[: m.start()]
    for junk in ("**", "\\$", "\\(", "\\)", "$"):
        line = line.replace(junk, "")
    line = _FILLER_RE.sub("", line.strip())
    return line.strip().rstrip(".,;:").strip()


def _bold_answer(text: str) -> str | None:
    bolds = [m.group(1).strip() for m in _BOLD_RE.finditer(text)]
    answers = [b for b in bolds if b and not b.endswith(":")]  # "**Step 2:**" is a label
    if not answers:
        return None
    return strip_math_delims(answers[-1]).rstrip(".").strip() or None


def _bare_answer(text: str) -> str | None:
    s = strip_math_delims(text)
    if not s or "\n" in s or len(s) > 2 * MAX_ANSWER_CHARS or ANY_BOX_RE.search(s):
        return None
    probe = re.sub(r"\\(?:begin|end)\s*\{[A-Za-z*]*\}", " ", s)
    probe = re.sub(r"\\(?:text|textbf|mathrm|mbox|textrm|operatorname)\s*\{[^{}]*\}", " ", probe)
    probe = re.sub(r"\\[A-Za-z]+", " ", probe)
    words = re.findall(r"[A-Za-z]{2,}", probe)
    return s if all(w.lower() in _BARE_WORDS for w in words) else None


def _last_number(text: str) -> str | None:
    m = last_match(_LAST_NUM_RE, text)
    if m is None:
        return None
    t = last_match(_NUM_TUPLE_RE, text)
    if t is not None and t.start() < m.start() and m.end() <= t.end():
        return t.group(0)  # "The point is (3, 4)": the last number closes a tuple of numbers
    num = m.group(0).replace(",", "")
    i = m.start()
    if i > 0 and text[i - 1] == "-" and (i == 1 or text[i - 2] in " \t\n(=:$[{,"):
        num = "-" + num
    return num


_METHODS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    ("boxed", last_boxed),
    ("final_answer_phrase", _phrase_answer),
    ("bold", _bold_answer),
    ("bare", _bare_answer),
    ("last_number", _last_number),
)
