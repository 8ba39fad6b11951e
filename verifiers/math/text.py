"""String helpers shared by extraction, normalisation and comparison."""

from __future__ import annotations

import re

_DELIMS = (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"), ("**", "**"))


def match_brace(s: str, i: int) -> int:
    """Index of the '}' matching the '{' at s[i], or -1. Escaped braces are skipped."""
    depth = 0
    j = i
    while j < len(s):
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


def last_match(pattern: re.Pattern[str], s: str) -> re.Match[str] | None:
    m = None
    for m in pattern.finditer(s):
        pass
    return m


def strip_math_delims(s: str) -> str:
    """Peel any number of enclosing $..$, \\(..\\), \\[..\\], $$..$$ and **..** pairs."""
    s = s.strip()
    changed = True
    while changed and s:
        changed = False
        for a, b in _DELIMS:
            if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
                s = s[len(a) : len(s) - len(b)].strip()
                changed = True
    return s


def squash(s: str) -> str:
    """Drop whitespace except between two alphanumerics."""
    s = re.sub(r"\s+", " ", s.strip())
    return re.sub(r"(?<=[^0-9A-Za-z]) | (?=[^0-9A-Za-z])", "", s)
