"""Reading an answer's structure: lists of solutions, sets, tuples, intervals, equations.

`parse_answer` returns a tree of tuples:

* ``("scalar", s)`` -- one value, compared by `scalar.scalar_equal`;
* ``("set", items, loose)`` -- ``\\{2, 3\\}`` (loose=False) or ``2, 3`` /
  ``x = 2 or x = 3`` / ``\\pm`` (loose=True: may also be an unbracketed tuple);
* ``("union", items)`` -- intervals joined by ``\\cup``;
* ``("seq", open, items, close)`` -- tuples ``(1, 2)``, intervals ``[1, 2)``,
  matrices (as nested tuples); inequalities become intervals;
* ``("bind", lhs, node)`` -- ``x = node`` where lhs is one variable or ``f(x)``;
* ``("eq", lhs, rhs)`` -- any other equation.
"""

from __future__ import annotations

import re

from verifiers.math.guards import MAX_ITEMS, Unparseable
from verifiers.math.normalize import strip_word_units

MAX_DEPTH = 6
_OPEN, _CLOSE = "([{", ")]}"
_VAR_RE = re.compile(r"(?:[A-Za-z](?:_\{?\w+\}?)?|\\[A-Za-z]+)(?:\([A-Za-z,\s]*\))?")
_INEQ_SPLIT_RE = re.compile(r"\s*(\\leq|\\geq|\\lt|\\gt|<=|>=|<|>)\s*")
_MATRIX_RE = re.compile(r"\\begin\{([pbBvV]?matrix)\}(.*)\\end\{\1\}", re.S)
_UNION = r"\\cup(?![A-Za-z])|\s+U\s+"
_LIST = r"\s*(?:[,;]\s*(?:or|and)\b|,|;|\bor\b|\band\b)\s*"
_PLUS_MINUS = r"\\pm(?![A-Za-z])|\\mp(?![A-Za-z])|\+-"
_LESS = {"<": ")", "\\lt": ")", "<=": "]", "\\leq": "]"}  # the bracket on the bounded side
_MORE = {">": ")", "\\gt": ")", ">=": "]", "\\geq": "]"}
_FLIP = {")": "(", "]": "["}


def parse_answer(s: str, depth: int = 0) -> tuple:
    if depth > MAX_DEPTH:
        raise Unparseable("structure too deep")
    s = s.strip()
    if not s:
        raise Unparseable("empty")
    s = re.sub(r"^(?:[A-Za-z]|\\[A-Za-z]+)\s*\\in\s+", "", s)  # x \in [1, 2)
    s = re.sub(r"^(?:[A-Za-z]|\\[A-Za-z]+)\s*\\in(?=[\\(\[{])", "", s)
    parts = split_top(s, _UNION)
    if len(parts) > 1:
        return ("union", [parse_answer(p, depth + 1) for p in parts])
    parts = split_top(s, _LIST)
    if len(parts) == 1:
        return _parse_single(s, depth)
    nodes = [parse_answer(p, depth + 1) for p in _items(parts, "list")]
    if len({n[1] for n in nodes if n[0] == "bind"}) <= 1:  # "x = 2 or x = 3": drop the x
        nodes = [n[2] if n[0] == "bind" else n for n in nodes]
    return ("set", nodes, True)


def split_top(s: str, pattern: str) -> list[str]:
    """Split at the matches of `pattern` outside all brackets, and strip the parts."""
    dep = _depths(s)
    parts, last = [], 0
    for m in re.finditer(pattern, s):
        if dep[m.start()] != 0:
            continue
        if m.start() > 0 and s[m.start() - 1] == "\\" and m.group(0).strip() in (",", ";"):
            continue  # "\," spacing survived
        parts.append(s[last : m.start()])
        last = m.end()
    parts.append(s[last:])
    return [p.strip() for p in parts]


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


def _items(parts: list[str], what: str) -> list[str]:
    if len(parts) > MAX_ITEMS or any(not p for p in parts):
        raise Unparseable(f"bad {what}")
    return parts


def _parse_single(s: str, depth: int) -> tuple:
    for form in (_matrix, _bracketed, _plus_minus, _equation, _inequality):
        node = form(s, depth)
        if node is not None:
            return node
    if s.startswith("\\{") or s.endswith("\\}"):
        raise Unparseable("unbalanced set")
    return ("scalar", strip_word_units(s))


def _matrix(s: str, depth: int) -> tuple | None:
    """A matrix is a tuple of row tuples; a single row or column is one flat tuple."""
    m = _MATRIX_RE.fullmatch(s)
    if not m:
        return None
    rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
    cells = [[c.strip() for c in r.split("&")] for r in rows]
    if len(cells) == 1 or all(len(r) == 1 for r in cells):
        return ("seq", "(", [parse_answer(c, depth + 1) for r in cells for c in r], ")")
    return ("seq", "(", [("seq", "(", [parse_answer(c, depth + 1) for c in r], ")") for r in cells], ")")


def _bracketed(s: str, depth: int) -> tuple | None:
    """\\{..\\} is a set; (a, b) / [a, b) with 2+ items a tuple or interval."""
    g = _outer_group(s)
    if g is None:
        return None
    open_, inner, close = g
    if open_ == "{":
        items = split_top(inner, r"\s*[,;]\s*") if inner.strip() else []
        return ("set", [parse_answer(p, depth + 1) for p in _items(items, "set")], False)
    items = split_top(inner, r"\s*,\s*")
    if len(items) == 1:
        return None  # just parentheses around a value
    return ("seq", open_, [parse_answer(p, depth + 1) for p in _items(items, "tuple")], close)


def _outer_group(s: str) -> tuple[str, str, str] | None:
    """If s is one bracketed group '(..)', '[..)', '\\{..\\}', return (open, inner, close)."""
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        if any(d < 0 for d in _depths(inner)):
            return None
        return "{", inner, "}"
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        if any(d == 0 for d in _depths(s)[1:-1]):  # closed before the end
            return None
        return s[0], s[1:-1], s[-1]
    return None


def _plus_minus(s: str, depth: int) -> tuple | None:
    """a \\pm b (also x = a \\pm b, \\pm b) is the set of both solutions."""
    pm = split_top(s, _PLUS_MINUS)
    if len(pm) != 2 or not pm[1]:
        return None
    head, lhs = pm[0], ""
    eq = split_top(head, r"(?<![<>!\\])=")
    if len(eq) == 2:
        lhs, head = eq[0] + "=", eq[1]
    if head:
        a, b = f"{lhs}{head}+({pm[1]})", f"{lhs}{head}-({pm[1]})"
    else:
        a, b = f"{lhs}{pm[1]}", f"{lhs}-({pm[1]})"
    return ("set", [_parse_single(a, depth + 1), _parse_single(b, depth + 1)], True)


def _equation(s: str, depth: int) -> tuple | None:
    eq = split_top(s, r"(?<![<>!\\])=(?!=)")
    if len(eq) < 2:
        return None
    if any(not p for p in eq):
        raise Unparseable("dangling =")
    lhs, rhs = eq[0], eq[-1]
    if len(eq) == 2 and _VAR_RE.fullmatch(lhs.replace(" ", "")):
        return ("bind", lhs.replace(" ", ""), parse_answer(rhs, depth + 1))
    if len(eq) > 2 or not has_letters(lhs) and not has_letters(rhs):
        # "a = b = 3" or a worked computation "7 \times 7 = 49": the last part is the value
        return parse_answer(rhs, depth + 1)
    return ("eq", lhs, rhs)


def has_letters(s: str) -> bool:
    """Letters other than LaTeX command names: "7 = 11a+c" is an equation in a and c, not the value 11a+c."""
    return bool(re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", s)))


def _inequality(s: str, _depth: int) -> tuple | None:
    p = _INEQ_SPLIT_RE.split(s)
    if len(p) not in (3, 5):
        return None
    return _inequality_interval(p) or ("scalar", s)


def _is_var(x: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]|\\[A-Za-z]+", x.strip()))


def _inequality_interval(p: list[str]) -> tuple | None:
    """x < b, a \\le x, a < x \\le b as intervals; None for anything else."""
    if len(p) == 3:
        a, op, b = p
        if _is_var(a) and not _is_var(b):
            if op in _LESS:
                return ("seq", "(", [("scalar", "-\\infty"), ("scalar", b)], _LESS[op])
            return ("seq", _FLIP[_MORE[op]], [("scalar", b), ("scalar", "\\infty")], ")")
        if _is_var(b) and not _is_var(a):
            if op in _LESS:  # a < x
                return ("seq", _FLIP[_LESS[op]], [("scalar", a), ("scalar", "\\infty")], ")")
            return ("seq", "(", [("scalar", "-\\infty"), ("scalar", a)], _MORE[op])
        return None
    a, op1, x, op2, b = p
    if not _is_var(x):
        return None
    if op1 in _LESS and op2 in _LESS:
        return ("seq", _FLIP[_LESS[op1]], [("scalar", a), ("scalar", b)], _LESS[op2])
    if op1 in _MORE and op2 in _MORE:
        return ("seq", _FLIP[_MORE[op2]], [("scalar", b), ("scalar", a)], _MORE[op1])
    return None
