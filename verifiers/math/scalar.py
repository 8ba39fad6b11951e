"""Comparing two single values: words, exact rationals, then sympy (ladder steps 1, 3-5)."""

from __future__ import annotations

import re
from fractions import Fraction

from verifiers.math.guards import Unparseable
from verifiers.math.numeric import MIN_PROBES, close, numval, probe_points, to_sympy, zero_like
from verifiers.math.text import squash

_TEXT_RE = re.compile(r"[A-Za-z][A-Za-z '\-]*[A-Za-z]")
_DEC = r"(?:\d+\.\d*|\.\d+|\d+)"
_MIXED_RE = re.compile(r"([+-]?)\s*(\d+)\s+(\d+)\s*/\s*(\d+)")
_MIXED_FRAC_RE = re.compile(r"([+-]?)\s*(\d+)\s*\\frac\{\s*(\d+)\s*\}\{\s*(\d+)\s*\}")
_REPEATING_RE = re.compile(r"([+-]?)(\d*)\.(\d*)\\overline\{(\d+)\}")  # 0.1\overline{6}
_DECIMAL_RE = re.compile(rf"[+-]?{_DEC}")
_SCIENTIFIC_RE = re.compile(rf"([+-]?{_DEC})[eE]([+-]?\d{{1,3}})")
_FRACTION_RES = (
    re.compile(rf"([+-]?)\(?([+-]?{_DEC})\)?/\(?([+-]?{_DEC})\)?"),
    re.compile(rf"([+-]?)\\frac\{{([+-]?{_DEC})\}}\{{([+-]?{_DEC})\}}"),
)

Exact = tuple[Fraction, bool]  # (value, written as a decimal)


def scalar_equal(a: str, b: str) -> tuple[bool, str]:
    sa, sb = squash(a), squash(b)
    if sa == sb:
        return True, "string"
    ta, tb = bool(_TEXT_RE.fullmatch(sa)), bool(_TEXT_RE.fullmatch(sb))
    if ta or tb:  # word answers ("yes", "no solution") are never parsed as products
        return ta and tb and sa.casefold() == sb.casefold(), "string"
    ra, rb = rational(a), rational(b)
    if ra is not None and rb is not None:
        return ra[0] == rb[0], "rational"
    try:
        ea, deca = to_sympy(sa)
        eb, decb = to_sympy(sb)
    except Unparseable:
        return False, "unparseable"
    return exprs_equal(ea, eb, deca or decb)


def rational(s: str) -> Exact | None:
    """Exact value of a plain rational literal, and whether it was a decimal."""
    s = s.strip()
    m = _MIXED_RE.fullmatch(s) or _MIXED_FRAC_RE.fullmatch(s)
    if m:
        return _mixed(m)
    t = re.sub(r"(?<![\d.])\s+|\s+(?![\d.])", "", s)  # "2 3" stays two numbers
    for form in (_repeating, _decimal, _scientific, _fraction):
        value = form(t)
        if value is not None:
            return value
    return None


def _signed(sign: str, v: Fraction) -> Fraction:
    return -v if sign == "-" else v


def _mixed(m: re.Match[str]) -> Exact | None:
    whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
    if den == 0 or num >= den:
        return None
    return _signed(m.group(1), whole + Fraction(num, den)), False


def _repeating(t: str) -> Exact | None:
    m = _REPEATING_RE.fullmatch(t)
    if not m:
        return None
    head, rep = m.group(3), m.group(4)
    v = Fraction(int(m.group(2) or "0")) + Fraction(int(head or "0"), 10 ** len(head))
    v += Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(head))
    return _signed(m.group(1), v), False


def _decimal(t: str) -> Exact | None:
    return (Fraction(t), "." in t) if _DECIMAL_RE.fullmatch(t) else None


def _scientific(t: str) -> Exact | None:
    m = _SCIENTIFIC_RE.fullmatch(t)
    if not m or not re.search(r"\d", m.group(1)):
        return None
    return Fraction(m.group(1)) * Fraction(10) ** int(m.group(2)), True


def _fraction(t: str) -> Exact | None:
    m = _FRACTION_RES[0].fullmatch(t) or _FRACTION_RES[1].fullmatch(t)
    if not m:
        return None
    num, den = Fraction(m.group(2)), Fraction(m.group(3))
    if den == 0:
        return None
    return _signed(m.group(1), num / den), "." in m.group(2) + m.group(3)


def exprs_equal(ea, eb, approx: bool) -> tuple[bool, str]:
    """Compare sympy expressions; `approx`: one side was written with a decimal literal."""
    if ea == eb:
        return True, "symbolic"
    free = ea.free_symbols | eb.free_symbols
    d = ea - eb
    if d == 0:
        return True, "symbolic"
    if not free:
        return _constants_equal(ea, eb, d, approx)
    return _functions_equal(ea, eb, d, free, approx)


def _constants_equal(ea, eb, d, approx: bool) -> tuple[bool, str]:
    import sympy as sp

    if ea.is_Rational and eb.is_Rational:
        return ea == eb, "rational"
    if ea.has(sp.oo, -sp.oo) or eb.has(sp.oo, -sp.oo):
        return False, "symbolic"
    va, vb = numval(ea), numval(eb)
    if va is None or vb is None:
        try:
            return bool(sp.simplify(d) == 0), "symbolic"
        except Exception:  # noqa: BLE001
            return False, "unparseable"
    if not close(va, vb):
        return False, "numeric"
    if not approx and zero_like(d, max(abs(va), abs(vb))):
        return True, "numeric"
    # Within 1e-9 but not exactly equal, or written with decimals: only an
    # exact proof counts (1.41421356237 != sqrt(2), e^{25} + 1/3 != e^{25}).
    if sp.simplify(d) == 0:
        return True, "symbolic"
    return False, "numeric"


def _functions_equal(ea, eb, d, free, approx: bool) -> tuple[bool, str]:
    """Expressions with variables: probe, then (only if inconclusive) simplify."""
    import sympy as sp

    valid = 0
    for pt in probe_points(free):
        va, vb = numval(ea.xreplace(pt), 40), numval(eb.xreplace(pt), 40)
        if va is None or vb is None:
            continue
        if not close(va, vb) or not zero_like(d.xreplace(pt), max(abs(va), abs(vb))):
            return False, "numeric"
        valid += 1
    if valid >= MIN_PROBES and not approx:
        return True, "numeric"
    try:
        if sp.expand(d) == 0 or sp.simplify(d) == 0:
            return True, "symbolic"
    except Exception:  # noqa: BLE001
        return False, "unparseable"
    return False, ("numeric" if valid >= MIN_PROBES else "symbolic")
