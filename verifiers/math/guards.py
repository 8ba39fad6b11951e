"""Bounds that keep absurd answers away from sympy (step 0 of the equivalence
ladder, method ``unparseable``).

`guard` rejects, on the string alone, answers longer than 200 characters,
nesting deeper than 12, exponents or factorial arguments with 5+ digits and
power towers deeper than 3. `latex` applies the value bounds while it converts,
before sympy sees anything: any numeric power/factorial/binomial/exp whose result
would exceed ~10^4 digits and any power of a variable above 10^4 is rejected.
"""

from __future__ import annotations

import re

MAX_ANSWER_CHARS = 200
MAX_NESTING = 12
MAX_TOWER = 3
MAX_RESULT_DIGITS = 1e4  # numeric sub-results larger than this (in digits) are "absurd"
MAX_SYMBOLIC_EXPONENT = 1e4
MAX_FACTORIAL_ARG = 5000
MAX_ITEMS = 50  # elements in a set/tuple/list answer

_HUGE_EXPONENT_RE = re.compile(r"\^\s*[({]?\s*[-+]?\s*\d{5,}|\*\*\s*\(?\s*[-+]?\d{5,}")
_HUGE_FACTORIAL_RE = re.compile(r"\d{5,}\s*\)?\s*!")


class Unparseable(ValueError):
    """The answer is not something we can (or are willing to) interpret."""


def guard(s: str) -> str | None:
    """Return why `s` is absurd (and must not reach sympy), or None."""
    if len(s) > MAX_ANSWER_CHARS:
        return "too_long"
    if _nesting(s) > MAX_NESTING:
        return "too_deep"
    if _HUGE_EXPONENT_RE.search(s):
        return "huge_exponent"
    if _HUGE_FACTORIAL_RE.search(s):
        return "huge_factorial"
    if _tower_height(s) > MAX_TOWER:
        return "power_tower"
    return None


def _nesting(s: str) -> int:
    depth = deepest = 0
    for c in s:
        if c in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in ")]}":
            depth -= 1
    return deepest


def _tower_height(s: str) -> int:
    """Height of the tallest a^{b^{c^{...}}}; a bare ^ adds one level above its group."""
    tower = 0
    stack: list[bool] = []  # per open bracket: is it an exponent group?
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
    return tower
