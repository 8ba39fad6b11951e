"""Equivalence ladder (`answers_equivalent`, cheapest first; the method that
decided is returned)
-----------------------------------------------------------------------------
0. guard (method ``unparseable``): answers longer than 200 characters, nesting
   deeper than 12, exponents or factorial arguments with 5+ digits, power towers
   deeper than 3, and (while converting, before sympy sees anything) any numeric
   power/factorial/binomial/exp whose result would exceed ~10^4 digits and any
   power of a variable above 10^4 are rejected WITHOUT calling sympy (`guards`).
1. ``string`` -- normalised strings equal (whitespace-insensitive except between
   two alphanumerics; pure words compare case-insensitively).
2. Structure (`structure`): ``x = 3`` vs ``3`` (a single-variable or f(x)
   left-hand side is dropped), several solutions ``x=2 or x=3`` / ``x = 2, 3`` /
   ``\\{2, 3\\}`` compare as sets (``set``), ``\\pm`` expands to two solutions,
   tuples ``(1, 2)`` compare in order (``tuple``), intervals compare endpoints
   AND bracket types (``interval``: ``[1, 2)`` != ``[1, 2]``; ``x \\in``,
   ``\\cup`` unions and inequalities like ``1 \\le x < 2`` are understood),
   general equations compare up to a non-zero constant factor (``equation``).
   A reference that labels a value (``(p,q)=(3,2)``, ``|AB|=1``: a name on the
   left, no operators in it; no letters on the right) is that value for a prediction that is not an
   equation, and a prediction labelled by a tuple of names (``(x, y) = (1, 2)``) is its value
   for a reference that is not an equation (``2x = 6`` stays an equation: against 6 it is
   wrong); ``7 = 11a+c`` (letters on the right) stays an equation.
3. ``rational`` -- both sides are exact rationals (integers, decimals, ``a/b``,
   ``\\frac{a}{b}``, mixed numbers ``1\\frac{1}{2}`` / ``1 1/2``, 1e-3): compared
   exactly with fractions.Fraction, so 0.3333 != 1/3 and -0 == 0.
4. ``symbolic`` -- our own small LaTeX-to-sympy-string converter (`latex`)
   feeds ``sympy.parsing.sympy_parser.parse_expr`` (decimals are rationalised
   exactly); sympy's canonical forms equal -> equal.
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
"""

from __future__ import annotations

import re

from verifiers.math.guards import Unparseable, guard
from verifiers.math.normalize import normalize_answer
from verifiers.math.numeric import MIN_PROBES, exact_close, numval, probe_points, to_sympy, zero_like
from verifiers.math.scalar import scalar_equal
from verifiers.math.structure import has_letters, parse_answer
from verifiers.math.text import squash

_COLLECTIONS = ("set", "union")


def answers_equivalent(pred: str, ref: str) -> tuple[bool, str]:
    """Is the answer `pred` equal to the reference `ref`? Returns (equal, method).

    Runs in-process with no timeout; use MathVerifier.verify_batch for untrusted input.
    """
    ok, method, _ = equivalent(pred, ref)
    return ok, method


def equivalent(pred: str, ref: str) -> tuple[bool, str, str | None]:
    """(equal, method, error) -- never raises."""
    p, r = normalize_answer(pred), normalize_answer(ref)
    if not p or not r:
        return False, "unparseable", "empty answer"
    why = guard(p) or guard(r)
    if why:
        return False, "unparseable", why
    if squash(p) == squash(r):
        return True, "string", None
    try:
        pa = parse_answer(p)
    except Unparseable as e:
        return False, "unparseable", f"prediction: {e}"
    try:
        ra = parse_answer(r)
    except Unparseable as e:
        return False, "unparseable", f"reference: {e}"
    try:
        ok, method = compare(pa, ra)
    except Exception as e:  # noqa: BLE001 - a sympy bug (or RecursionError, MemoryError) must not crash a batch
        return False, "unparseable", f"{type(e).__name__}: {e}"
    return ok, method, None


def compare(a: tuple, b: tuple) -> tuple[bool, str]:
    """Compare two `structure.parse_answer` trees; (equal, method)."""
    ka, kb = a[0], b[0]
    kinds = {ka, kb}
    if ka == kb == "bind" and a[1] == b[1]:
        return compare(a[2], b[2])
    if kb == "eq" and ka not in ("eq", "bind") and _is_label(b[1]) and not has_letters(b[2]):
        return compare(a, parse_answer(b[2]))  # a labelled reference: (p,q)=(3,2), |AB|=1, V_1:V_2=11:21
    if ka == "eq" and kb not in ("eq", "bind") and _is_name_tuple(a[1]) and not has_letters(a[2]):
        return compare(parse_answer(a[2]), b)  # a labelled answer: (x, y) = (1, 2) against (1, 2)
    if "eq" in kinds or ka == kb == "bind":  # x = 1 vs y = 1 is an equation, not a value
        return _equations_equal(a, b)
    if ka == "bind":
        return compare(a[2], b)
    if kb == "bind":
        return compare(a, b[2])
    # "1, 2" written without parentheses vs the tuple (1, 2): compare in order
    if ka == "set" and a[2] and _is_tuple(b):
        return _seq_equal(("seq", "(", a[1], ")"), b)
    if kb == "set" and b[2] and _is_tuple(a):
        return _seq_equal(a, ("seq", "(", b[1], ")"))
    # a collection vs a single item: {3} == 3, "x = 1 or x = 1" == 1
    if ka in _COLLECTIONS and kb not in _COLLECTIONS:
        return _set_equal(a[1], [b])
    if kb in _COLLECTIONS and ka not in _COLLECTIONS:
        return _set_equal([a], b[1])
    if ka == kb == "scalar":
        return scalar_equal(a[1], b[1])
    if ka == kb and ka in _COLLECTIONS:
        return _set_equal(a[1], b[1])
    if ka == kb == "seq":
        return _seq_equal(a, b)
    # what is left: a set vs a union, or a tuple/interval vs a scalar
    return False, "interval" if "union" in kinds or "[" in (a[1:2] + b[1:2]) else "tuple"


def _is_label(lhs: str) -> bool:
    """``(p,q)``, ``|AB|``, ``V_1:V_2``, ``\\frac{NO}{BO}`` name a value; ``a+3z`` or ``x^2`` make an equation."""
    return has_letters(lhs) and not re.search(r"[-+^*=<>]|\\(?:cdot|times)", lhs)


def _is_name_tuple(lhs: str) -> bool:
    """``(x, y)``, ``(a, b, c)``, ``(x_1, x_2)``: a tuple of names, which labels the tuple on the right.
    A prediction's left side must be one of these (not any label: ``2x = 6`` or ``\\sqrt{x} = 3``
    against 6 or 3 would pass)."""
    m = re.fullmatch(r"\(\s*(.*?)\s*\)", lhs.strip())
    items = [i.strip() for i in m.group(1).split(",")] if m else []
    return len(items) >= 2 and all(re.fullmatch(r"[A-Za-z](?:_\{?\w+\}?)?|\\[A-Za-z]+", i) for i in items)


def _is_tuple(node: tuple) -> bool:
    return node[0] == "seq" and (node[1], node[3]) == ("(", ")")


def _combine(results: list[tuple[bool, str]], ok: bool, method: str) -> tuple[bool, str]:
    """A mismatch where some element could not be parsed is reported as unparseable."""
    if not ok and any(m == "unparseable" for _, m in results):
        return False, "unparseable"
    return ok, method


def _set_equal(xs: list, ys: list) -> tuple[bool, str]:
    seen: list[tuple[bool, str]] = []
    ok = _covers(xs, ys, seen, swap=False) and _covers(ys, xs, seen, swap=True)
    return _combine(seen, ok, "set")


def _covers(a_items: list, b_items: list, seen: list, swap: bool) -> bool:
    """Does every item of a_items equal some item of b_items? (comparisons go to `seen`;
    `swap` keeps the prediction on the left of every comparison)"""
    for a in a_items:
        for b in b_items:
            r = compare(b, a) if swap else compare(a, b)
            seen.append(r)
            if r[0]:
                break
        else:
            return False
    return True


def _seq_equal(a: tuple, b: tuple) -> tuple[bool, str]:
    method = "tuple" if _is_tuple(a) and _is_tuple(b) else "interval"
    if (a[1], a[3]) != (b[1], b[3]) or len(a[2]) != len(b[2]):
        return False, method
    seen = []
    for x, y in zip(a[2], b[2]):
        r = compare(x, y)
        seen.append(r)
        if not r[0]:
            return _combine(seen, False, method)
    return True, method


def _equations_equal(a: tuple, b: tuple) -> tuple[bool, str]:
    ea, eb = _as_eq(a), _as_eq(b)
    if ea and eb:
        return _equation_equal(*ea, *eb)
    return False, "equation"


def _as_eq(node: tuple) -> tuple[str, str] | None:
    if node[0] == "eq":
        return node[1], node[2]
    if node[0] == "bind" and node[2][0] == "scalar" and "(" not in node[1]:
        return node[1], node[2][1]
    return None


def _equation_equal(l1: str, r1: str, l2: str, r2: str) -> tuple[bool, str]:
    """l1 = r1 and l2 = r2 are the same equation if l1 - r1 = c (l2 - r2), c != 0."""
    try:
        d1 = to_sympy(squash(l1))[0] - to_sympy(squash(r1))[0]
        d2 = to_sympy(squash(l2))[0] - to_sympy(squash(r2))[0]
    except Unparseable:
        return False, "unparseable"
    if d1 == d2 or d1 == -d2:
        return True, "equation"
    free = d1.free_symbols | d2.free_symbols
    if not free:
        return False, "equation"
    valid = _constant_ratio_probes(d1, d2, free)
    if valid is None or (valid >= MIN_PROBES and not _ratio_is_exact(d1, d2, free)):
        return False, "equation"
    return valid >= MIN_PROBES, "equation"


def _constant_ratio_probes(d1, d2, free) -> int | None:
    """How many probe points gave a usable d1/d2 -- None if the ratio is not constant."""
    ratio = None
    valid = 0
    for pt in probe_points(free):
        v1, v2 = numval(d1.xreplace(pt), 40), numval(d2.xreplace(pt), 40)
        if v1 is None or v2 is None or abs(v2) < 1e-20:
            continue
        if abs(v1) < 1e-20:
            return None
        q = v1 / v2
        if ratio is None:
            ratio = q
        elif not exact_close(q, ratio):
            return None
        valid += 1
    return valid


def _ratio_is_exact(d1, d2, free) -> bool:
    """Confirm the constant ratio exactly: d1 - c * d2 == 0 at the probes."""
    c = None
    for pt in probe_points(free):
        if c is None:
            v2 = numval(d2.xreplace(pt), 40)
            if v2 is not None and abs(v2) > 1e-20:
                c = (d1 / d2).xreplace(pt)  # exact: the probe points are rationals
            continue
        v1 = numval(d1.xreplace(pt), 40)
        if v1 is not None and not zero_like((d1 - c * d2).xreplace(pt), abs(v1)):
            return False
    return True
