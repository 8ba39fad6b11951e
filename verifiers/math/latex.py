"""Our own small LaTeX-to-sympy-source converter.

It understands ``\\frac``, ``\\sqrt``, ``\\sqrt[n]``, ``^``, ``\\pi``, ``e``,
``i``, ``\\cdot``, ``\\times``, implicit multiplication, trig/log functions,
``!``, ``\\binom``, ``|x|``, floor/ceiling and Greek letters, and emits explicit
sympy syntax for ``parse_expr`` -- nothing else of the answer is ever evaluated.
While it builds the expression it tracks an upper bound on the size of every
numeric sub-result and refuses (`Unparseable`) anything beyond the bounds in
`guards`, so sympy never starts a computation it cannot finish.

Reading conventions: ``e`` is Euler's number and ``i`` the imaginary unit;
``\\log`` is the natural log (write ``\\log_{10}``); ``2^10`` means 2^{10};
``1/2x`` is (1/2)x; two bare numbers side by side ("2 3") are ambiguous and
unparseable; letter runs of 4+ that are not function names ("5 hundred") are
unparseable rather than products of variables; ``\\sqrt[3]{-8}`` is the real
root -2 (``_nroot`` in the sympy namespace).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from verifiers.math.guards import MAX_FACTORIAL_ARG, MAX_RESULT_DIGITS, MAX_SYMBOLIC_EXPONENT, Unparseable

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
_GREEK_ALIASES = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi"}
_CONSTANTS = {"pi": ("pi", 0.4972), "infty": ("oo", 1.0), "infin": ("oo", 1.0)}
_WORD_NAMES = sorted(list(_FUNCS) + ["sqrt", "pi"], key=len, reverse=True)
_CMD_TOKENS = {
    "cdot": ("op", "*"), "times": ("op", "*"), "ast": ("op", "*"), "div": ("op", "/"),
    "lfloor": ("lp", "lfloor"), "lceil": ("lp", "lceil"), "rfloor": ("rp", "rfloor"), "rceil": ("rp", "rceil"),
}
_CLOSERS: dict[str, str | tuple[str, ...]] = {
    "(": (")", "]"), "[": (")", "]"), "{": "}", "lfloor": "rfloor", "lceil": "rceil",
}
_BRACKET_FUNCS = {"lfloor": "floor", "lceil": "ceiling"}
_NUM_RE = re.compile(r"\d*\.?\d+|\d+\.?")
_CMD_RE = re.compile(r"\\([A-Za-z]+)")
_WORD_RE = re.compile(r"[A-Za-z]+")

Token = tuple[str, str]  # (kind, value); kinds: num, id, cmd, op, lp, rp


def latex_to_sympy_str(s: str) -> str:
    """Convert a (normalised) LaTeX / plain-text math answer into sympy syntax."""
    return parse_latex(s).src


def parse_latex(s: str) -> Node:
    return _Parser(s).parse()


# -- tokens -----------------------------------------------------------------

def _tokenize(s: str) -> list[Token]:
    toks: list[Token] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c.isspace():
            i += 1
        elif c.isdigit() or (c == "." and s[i + 1 : i + 2].isdigit()):
            m = _NUM_RE.match(s, i)
            toks.append(("num", m.group(0)))
            i = m.end()
        elif c == "\\":
            i = _command_token(s, i, toks)
        elif c.isalpha():
            i = _word_tokens(s, i, toks)
        elif s.startswith("**", i):
            toks.append(("op", "^"))
            i += 2
        else:
            toks.append(_punct_token(c))
            i += 1
    return toks


def _command_token(s: str, i: int, toks: list[Token]) -> int:
    m = _CMD_RE.match(s, i)
    if m is None:
        if i + 1 < len(s) and s[i + 1] in "{}":
            raise Unparseable("set braces inside a scalar")
        raise Unparseable(f"bad escape at {i}")
    toks.append(_CMD_TOKENS.get(m.group(1), ("cmd", m.group(1))))
    return m.end()


def _word_tokens(s: str, i: int, toks: list[Token]) -> int:
    """Split a letter run into function names and one-letter variables."""
    m = _WORD_RE.match(s, i)
    run = m.group(0)
    if len(run) >= 4 and not any(run.startswith(w) or run.endswith(w) for w in _WORD_NAMES):
        raise Unparseable(f"word {run!r} in a formula")  # "5 hundred", not 5*h*u*n*d*r*e*d
    j = 0
    while j < len(run):
        name = next((w for w in _WORD_NAMES if run.startswith(w, j)), None)
        toks.append(("cmd", name) if name else ("id", run[j]))
        j += len(name) if name else 1
    return m.end()


def _punct_token(c: str) -> Token:
    if c in "([{":
        return ("lp", c)
    if c in ")]}":
        return ("rp", c)
    if c in "+-*/^_!|'":
        return ("op", c)
    raise Unparseable(f"unexpected character {c!r}")


# -- size-tracking nodes ----------------------------------------------------

@dataclass(slots=True)
class Node:
    """A converted sub-expression: sympy source text; `mag`, an upper bound on
    |log10 |value|| -- how many decimal digits the number has before or after
    the point -- or None when it has variables; whether it is a bare integer
    literal; and whether a decimal literal occurs in it."""

    src: str
    mag: float | None
    intlit: bool = False
    dec: bool = False


def _cap(x: float) -> float:
    return min(x, 1e12)


def _wrap(node: Node, fn: str = "") -> Node:
    return Node(f"{fn}({node.src})", node.mag, dec=node.dec)


def _neg(node: Node) -> Node:
    return Node(f"(-({node.src}))", node.mag, dec=node.dec)


def _binary(a: Node, op: str, b: Node) -> Node:
    if a.mag is None or b.mag is None:
        mag = None
    elif op in "+-":
        mag = _cap(max(a.mag, b.mag) + 0.31)
    else:
        mag = _cap(a.mag + b.mag)
    return Node(f"({a.src}){op}({b.src})", mag, dec=a.dec or b.dec)


def _power(b: Node, e: Node) -> Node:
    mag = None
    if e.mag is not None:
        bound = 10.0 ** min(e.mag, 300.0)  # |exponent| <= bound
        if b.mag is not None:
            mag = bound * b.mag
            if mag > MAX_RESULT_DIGITS:
                raise Unparseable("power too large")
        elif bound > MAX_SYMBOLIC_EXPONENT * 1.05:
            raise Unparseable("exponent too large")
    return Node(f"({b.src})**({e.src})", mag, dec=b.dec or e.dec)


def _factorial(a: Node, src: str) -> Node:
    if a.mag is None:
        return Node(src, None, dec=a.dec)
    bound = 10.0 ** min(a.mag, 300.0)
    size = bound * max(math.log10(bound + 1), 1.0)
    if bound > MAX_FACTORIAL_ARG or size > MAX_RESULT_DIGITS:
        raise Unparseable("factorial too large")
    return Node(src, _cap(size), dec=a.dec)


def _number(val: str) -> Node:
    digits = val.replace(".", "")
    if "." in val:
        val = val.removesuffix(".")
        if val.startswith("."):
            val = "0" + val
        return Node(val, _cap(float(len(digits))), dec=True)
    stripped = digits.lstrip("0") or "0"
    mag = math.log10(max(int(stripped), 1)) if len(stripped) < 15 else float(len(stripped))
    return Node(stripped, mag, intlit=True)


# -- grammar ----------------------------------------------------------------

class _Parser:
    """Recursive descent over LaTeX-ish math; emits explicit sympy syntax."""

    def __init__(self, s: str):
        self.toks = _tokenize(s)
        self.i = 0
        self.abs_depth = 0  # inside |..| a "|" closes instead of opening

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Token:
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
        return self.peek() == ("op", val)

    def parse(self) -> Node:
        if not self.toks:
            raise Unparseable("empty")
        node = self.expr()
        if self.peek() is not None:
            raise Unparseable(f"trailing input at {self.peek()!r}")
        return node

    def expr(self) -> Node:
        left = self.term()
        while True:
            t = self.peek()
            if t is not None and t[0] == "op" and t[1] in "+-":
                self.take()
                left = _binary(left, t[1], self.term())
            elif t is not None and t[0] == "cmd" and t[1] in ("pm", "mp"):
                raise Unparseable("\\pm inside an expression")
            else:
                return left

    def starts_primary(self, t: Token | None) -> bool:
        if t is None:
            return False
        kind, val = t
        if kind in ("num", "id", "lp"):
            return True
        if kind == "cmd":
            return val not in ("pm", "mp")
        return t == ("op", "|") and self.abs_depth == 0

    def term(self) -> Node:
        left = self.unary()
        first = True
        while True:
            t = self.peek()
            if t is not None and t[0] == "op" and t[1] in "*/":
                self.take()
                left = _binary(left, t[1], self.unary())
            elif self.starts_primary(t):
                if t[0] == "num":
                    raise Unparseable("number after a factor")  # "2 3", "x 2": ambiguous
                mixed = first and left.intlit and self._mixed_ahead()  # mixed number 1\frac{1}{2}
                left = _binary(left, "+" if mixed else "*", self.power())
            else:
                return left
            first = False

    def _mixed_ahead(self) -> bool:
        """Is the next thing \\frac{a}{b} with integers a < b?"""
        t = self.toks[self.i : self.i + 7]
        if len(t) < 7 or t[0] != ("cmd", "frac"):
            return False
        shape = [x[0] if x[0] == "num" else x for x in t[1:]]
        if shape != [("lp", "{"), "num", ("rp", "}"), ("lp", "{"), "num", ("rp", "}")]:
            return False
        a, b = t[2][1], t[5][1]
        return a.isdigit() and b.isdigit() and int(a) < int(b)

    def unary(self) -> Node:
        t = self.peek()
        if t is not None and t[0] == "op" and t[1] in "+-":
            self.take()
            inner = self.unary()
            return inner if t[1] == "+" else _neg(inner)
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if not self.is_op("^"):
            return base
        self.take()
        node = _power(base, self.exponent())
        while self.is_op("!"):
            self.take()
            node = _factorial(node, f"factorial({node.src})")
        return node

    def exponent(self) -> Node:
        """What follows ^: a signed exponent, {..}, a number (2^10 is 2^{10}) or a power."""
        t = self.peek()
        if t is None:
            raise Unparseable("missing exponent")
        if t[0] == "op" and t[1] in "+-":
            self.take()
            inner = self.exponent()
            return inner if t[1] == "+" else _neg(inner)
        if t == ("lp", "{"):
            return self.group()
        if t[0] == "num":
            return self.primary()
        return self.power()

    def postfix(self) -> Node:
        node = self.primary()
        while self.is_op("!"):
            self.take()
            if self.is_op("!"):
                self.take()
                node = _factorial(node, f"factorial2({node.src})")
            else:
                node = _factorial(node, f"factorial({node.src})")
        if self.is_op("'"):
            raise Unparseable("prime notation")
        return node

    def group(self) -> Node:
        """A macro argument: {..}, (..) or a single primary."""
        if self.peek() == ("lp", "{"):
            self.take()
            node = self.expr()
            self.expect("rp", "}")
            return node
        return self.primary()

    def primary(self) -> Node:
        kind, val = self.take()
        if kind == "num":
            return _number(val)
        if kind == "id":
            return self.identifier(val)
        if kind == "lp":
            node = self.expr()
            self.expect("rp", _CLOSERS[val])
            return _wrap(node, _BRACKET_FUNCS.get(val, ""))
        if (kind, val) == ("op", "|"):
            self.abs_depth += 1
            node = self.expr()
            self.abs_depth -= 1
            self.expect("op", "|")
            return _wrap(node, "Abs")
        if kind == "cmd":
            return self.command(val)
        raise Unparseable(f"unexpected token {val!r}")

    def identifier(self, val: str) -> Node:
        if self.is_op("_"):
            self.take()
            return Node(f"Symbol('{val}_{self.subscript()}')", None)
        if val == "e":
            return Node("E", 0.4343)
        if val == "i":
            return Node("I", 0.0)
        return Node(f"Symbol('{val}')", None)

    def subscript(self) -> str:
        """x_1, x_{12}, a_{n1}: digits and letters only, kept together in the name."""
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
            return "".join(parts)
        if sub is not None and sub[0] in ("num", "id"):
            self.take()
            return sub[1]
        raise Unparseable("bad subscript")

    def command(self, name: str) -> Node:
        if name == "frac":
            a = self.group()
            return _wrap(_binary(a, "/", self.group()))
        if name == "binom":
            return self.binom()
        if name == "sqrt":
            return self.sqrt()
        if name in _CONSTANTS:
            return Node(*_CONSTANTS[name])
        if name in _GREEK:
            return Node(f"Symbol('{_GREEK_ALIASES.get(name, name)}')", None)
        if name in _FUNCS:
            return self.function(name)
        raise Unparseable(f"unsupported command \\{name}")

    def binom(self) -> Node:
        n = self.group()
        k = self.group()
        mag = None
        if n.mag is not None:
            _factorial(n, "")  # C(n, k) is bounded by n!: refuse what n! would refuse
            mag = _cap(10.0 ** min(n.mag, 300.0) * 0.302)
        return Node(f"binomial({n.src},{k.src})", mag, dec=n.dec or k.dec)

    def sqrt(self) -> Node:
        index = None
        if self.peek() == ("lp", "["):
            self.take()
            index = self.expr()
            self.expect("rp", "]")
        arg = self.group()
        if index is None:
            return Node(f"sqrt({arg.src})", None if arg.mag is None else arg.mag / 2, dec=arg.dec)
        return Node(f"_nroot({arg.src},{index.src})", arg.mag, dec=arg.dec or index.dec)

    def function(self, name: str) -> Node:
        """\\sin x, \\sin^2 x, \\sin^{-1} x, \\log_2 8, \\ln(x), \\exp{x}."""
        fn = _FUNCS[name]
        base = power = None
        if name == "log" and self.is_op("_"):
            self.take()
            base = self.group()
        if self.is_op("^"):
            self.take()
            power = self.exponent()
        arg = self.call_argument()
        if power is not None and power.src == "(-(1))" and name in _INVERSE:
            fn, power = _INVERSE[name], None
        call = f"log({arg.src},{base.src})" if base is not None else f"{fn}({arg.src})"
        mag = arg.mag
        if name == "exp" and arg.mag is not None:
            mag = 10.0 ** min(arg.mag, 300.0) * 0.4343
            if mag > MAX_RESULT_DIGITS:
                raise Unparseable("exp too large")
        node = Node(call, mag, dec=arg.dec or (base.dec if base else False))
        if power is not None:
            node = _power(Node(f"({call})", mag, dec=node.dec), power)
        return node

    def call_argument(self) -> Node:
        """(..) or, without brackets, the factors up to an operator or function: \\sin 2x, \\ln 2."""
        t = self.peek()
        if t is not None and t[0] == "lp" and t[1] in ("(", "[", "{"):
            return self.primary()
        arg = self.power()
        while True:
            t = self.peek()
            if not self.starts_primary(t) or (t[0] == "cmd" and t[1] in _FUNCS) or t[0] == "num":
                return arg
            arg = _binary(arg, "*", self.power())
