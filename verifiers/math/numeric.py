"""The bridge to sympy: building expressions and evaluating them to high precision.

sympy is imported lazily, on first use: the parent process only runs the
worker pool and never needs it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from verifiers.math.guards import Unparseable
from verifiers.math.latex import parse_latex

REL_TOL = 1e-9  # beyond this two values are different, no questions asked
ABS_TOL = 1e-12
EXACT_REL_TOL = 1e-25  # values are computed to 50 (probes: 40) digits; equal means equal to here
EXACT_ABS_TOL = 1e-30
MIN_PROBES = 3  # probe points that must evaluate before agreement there counts
_PROBES = [
    "0.5371", "-1.2139", "2.3719", "-0.3317", "1.7123", "-2.6113",
    "0.8291", "3.1977", "-0.7741", "1.1531", "-1.9013", "2.9273",
]
_SYMPY_NAMES = [
    "Symbol", "Integer", "Float", "Rational", "E", "I", "pi", "oo", "sqrt", "root",
    "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "asec", "acsc",
    "sinh", "cosh", "tanh", "log", "exp", "factorial", "factorial2", "binomial", "Abs",
    "floor", "ceiling",
]


@lru_cache(maxsize=4096)
def to_sympy(s: str):
    """(sympy expression, has_decimal_literal) for a scalar answer; raises Unparseable."""
    import sympy as sp
    from sympy.parsing.sympy_parser import parse_expr

    node = parse_latex(s)
    g, transformations = _parse_env()
    try:
        expr = parse_expr(node.src, local_dict={}, global_dict=dict(g), transformations=transformations)
    except Exception as e:  # noqa: BLE001 - sympy raises many types
        raise Unparseable(f"sympy could not build {node.src!r}: {type(e).__name__}") from e
    if not isinstance(expr, sp.Basic):
        raise Unparseable("not an expression")
    if expr.has(sp.zoo, sp.nan):
        raise Unparseable("undefined value")
    return expr, node.dec


@lru_cache(maxsize=1)
def _parse_env() -> tuple[dict, tuple]:
    """The only names parse_expr may use; decimals become exact rationals."""
    import sympy as sp
    from sympy.parsing.sympy_parser import auto_number, rationalize

    def _nroot(x, n):
        if n.is_Integer and n.is_odd and x.is_number and x.is_extended_negative:
            return sp.real_root(x, n)
        return sp.root(x, n)

    g: dict[str, Any] = {n: getattr(sp, n) for n in _SYMPY_NAMES}
    g["_nroot"] = _nroot
    g["_log10"] = lambda x: sp.log(x, 10)
    g["__builtins__"] = {}
    return g, (auto_number, rationalize)


def numval(e, prec: int = 50):
    """mpmath complex value of a constant expression, or None if not finite."""
    import mpmath
    import sympy as sp

    try:
        v = sp.N(e, prec)
    except Exception:  # noqa: BLE001
        return None
    if not v.is_number or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None
    try:
        re_, im_ = (sp.N(part, prec) for part in v.as_real_imag())
        if not (re_.is_Float or re_.is_zero) or not (im_.is_Float or im_.is_zero):
            return None
        with mpmath.workdps(prec):
            return mpmath.mpc(mpmath.mpf(str(re_)) if re_ else 0, mpmath.mpf(str(im_)) if im_ else 0)
    except Exception:  # noqa: BLE001
        return None


def close(a, b, rel: float = REL_TOL, abs_: float = ABS_TOL) -> bool:
    import mpmath

    with mpmath.workdps(50):
        return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def exact_close(a, b) -> bool:
    return close(a, b, EXACT_REL_TOL, EXACT_ABS_TOL)


def probe_points(symbols) -> list[dict]:
    """Six fixed rational points; each variable gets a different value at each."""
    import sympy as sp

    syms = sorted(symbols, key=lambda x: x.name)
    return [
        {s: sp.Rational(_PROBES[(k + 5 * j) % len(_PROBES)]) for j, s in enumerate(syms)}
        for k in range(6)
    ]


def zero_like(d, scale) -> bool:
    """Is the constant `d` (a difference a - b) zero as far as sympy's adaptive
    30-digit evaluation can tell? evalf resolves cancellation itself, so
    e^{e^6} + 1/3 - e^{e^6} evaluates to 1/3 even though the two values agree to
    175 digits; a part it cannot resolve comes back with ~1 bit of precision
    ("0.e-164"), which means "zero to within the accuracy reached"."""
    try:
        worst = _worst_resolved_part(d)
    except Exception:  # noqa: BLE001
        return False
    if worst is None:
        return False
    if worst == 0:
        return True
    return worst <= EXACT_ABS_TOL and worst <= EXACT_REL_TOL * float(min(scale, 1e300))


def _worst_resolved_part(d) -> float | None:
    """Largest |real or imaginary part| of d that evalf resolved (0.0 if none),
    or None if d does not evaluate to a finite number."""
    import sympy as sp

    v = sp.N(d, 30)
    if v == 0:
        return 0.0
    if not v.is_number or v.has(sp.oo, sp.zoo, sp.nan):
        return None
    worst = 0.0
    for part in v.as_real_imag():
        if part == 0:
            continue
        if not part.is_Float:
            part = sp.N(part, 30)
            if not part.is_Float:
                return None
        if part._prec < 20:  # unresolved cancellation: consistent with 0
            continue
        worst = max(worst, abs(float(part)) if abs(part) < 1e300 else math.inf)
    return worst
