"""Turn a task's test code into a test plan, and judge the plan's results outside the sandbox.

Reference format
----------------
``reference`` is either a JSON object::

    {"entry_point": "add", "tests": "assert add(1, 2) == 3\\nassert add(0, 0) == 0"}

(``entry_point`` optional; ``tests`` is Python test code) or plain Python test
code. HumanEval-style tests (``def check(candidate): ...`` with no top-level
assert) are flattened: the body of ``check`` becomes the test code, preceded by
``candidate = <entry_point>``.

The plan
--------
Each top-level statement of the test code becomes one step, run in order in
the candidate's namespace inside the sandbox:

* **value checks** -- ``assert E == L``, ``assert L == E``, ``assert E != L``,
  ``assert E is / is not None|True|False``, ``assert E``, ``assert not E``,
  ``assert math.isclose(E, L, ...)`` and ``assert abs(E - L) < T`` (or ``<=``),
  where L, T and keyword arguments are literals (``ast.literal_eval``). Only E
  goes into the sandbox; the harness sends back E's value in a type-strict
  encoding and the comparison with L runs HERE, on plain builtin values. The
  expected value never enters the sandbox, so a candidate can neither read it
  nor fool the comparison (an always-equal ``__eq__``, an ``int`` subclass, a
  patched ``==`` are all "unencodable" and fail).
* **in-sandbox asserts** -- any other assert (``assert f(x) in (1, 2)``,
  asserts in loops, ...): run inside; the harness reports whether it raised.
  These CAN be fooled by a candidate that lies from inside the process (a
  dunder returning True, a patched harness); ``details["checks_inside"]``
  counts them so such rows can be filtered.
* **set-up statements** -- everything else (imports, helper definitions,
  loops): run inside; an exception aborts the remaining steps (they count as
  failed).

A run passes only if every step passed and there was at least one check.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, field
from typing import Any

_NOT_SET = object()


class Unencodable:
    """A value the harness refused to encode: equal to nothing, not even itself."""

    def __init__(self, why: str):
        self.why = why

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError("unencodable value")

    def __repr__(self) -> str:
        return f"<unencodable: {self.why}>"


@dataclass
class Check:
    id: int
    op: str  # eq, ne, is, is_not, truthy, falsy, isclose, abs_lt, abs_le
    expected: Any = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    steps: list[dict[str, Any]]  # what goes into the sandbox
    checks: dict[int, Check]  # value checks, judged outside
    inside: list[int]  # ids of in-sandbox asserts
    entry_point: str | None = None

    @property
    def total(self) -> int:
        return len(self.checks) + len(self.inside)


class BadReference(ValueError):
    """The reference cannot be turned into a plan (an infrastructure problem, not the candidate's)."""


def parse_reference(reference: str) -> tuple[str | None, str]:
    text = reference or ""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and "tests" in obj:
            ep = obj.get("entry_point")
            return (str(ep) if ep else None), str(obj["tests"])
    return None, text


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_SET


def _is_const(node: ast.AST, values: tuple) -> bool:
    return isinstance(node, ast.Constant) and any(node.value is v for v in values)


def _value_check(test: ast.expr) -> tuple[ast.expr, str, Any, dict[str, Any]] | None:
    """(expression to evaluate inside, op, expected, kwargs) for a value-checkable assert test."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, op, right = test.left, test.ops[0], test.comparators[0]
        if isinstance(op, (ast.Eq, ast.NotEq)):
            name = "eq" if isinstance(op, ast.Eq) else "ne"
            lv, rv = _literal(left), _literal(right)
            if rv is not _NOT_SET and lv is _NOT_SET:
                return left, name, rv, {}
            if lv is not _NOT_SET and rv is _NOT_SET:
                return right, name, lv, {}
            return None
        if isinstance(op, (ast.Is, ast.IsNot)) and _is_const(right, (None, True, False)):
            return left, ("is" if isinstance(op, ast.Is) else "is_not"), right.value, {}
        if isinstance(op, (ast.Lt, ast.LtE)) and isinstance(left, ast.Call):
            f = left.func
            if isinstance(f, ast.Name) and f.id == "abs" and len(left.args) == 1 and not left.keywords:
                inner = left.args[0]
                tol = _literal(right)
                if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Sub) and tol is not _NOT_SET:
                    a, b = _literal(inner.left), _literal(inner.right)
                    name = "abs_lt" if isinstance(op, ast.Lt) else "abs_le"
                    if b is not _NOT_SET and a is _NOT_SET:
                        return inner.left, name, b, {"tol": tol}
                    if a is not _NOT_SET and b is _NOT_SET:
                        return inner.right, name, a, {"tol": tol}
        return None
    if isinstance(test, ast.Call):
        f = test.func
        is_isclose = (isinstance(f, ast.Attribute) and f.attr == "isclose" and isinstance(f.value, ast.Name)
                      and f.value.id == "math") or (isinstance(f, ast.Name) and f.id == "isclose")
        if is_isclose and len(test.args) == 2:
            kwargs = {}
            for kw in test.keywords:
                v = _literal(kw.value)
                if kw.arg not in ("rel_tol", "abs_tol") or v is _NOT_SET:
                    return None
                kwargs[kw.arg] = v
            a, b = _literal(test.args[0]), _literal(test.args[1])
            if b is not _NOT_SET and a is _NOT_SET:
                return test.args[0], "isclose", b, kwargs
            if a is not _NOT_SET and b is _NOT_SET:
                return test.args[1], "isclose", a, kwargs
        # fall through: a bare call is a truthiness check
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        if _literal(test.operand) is _NOT_SET:
            return test.operand, "falsy", None, {}
        return None
    if _literal(test) is _NOT_SET and isinstance(test, (ast.Call, ast.Name, ast.Attribute, ast.Subscript)):
        return test, "truthy", None, {}
    return None


def _flatten_check(tree: ast.Module, entry_point: str | None) -> list[ast.stmt]:
    """HumanEval style: `def check(candidate): ...` and no top-level assert -> its body."""
    has_assert = any(isinstance(s, ast.Assert) for s in tree.body)
    checks = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "check"
              and len(s.args.args) == 1]
    if has_assert or not checks or not entry_point:
        return tree.body
    fn = checks[-1]
    arg = fn.args.args[0].arg
    out: list[ast.stmt] = []
    for s in tree.body:
        if s is fn:
            out.append(ast.parse(f"{arg} = {entry_point}").body[0])
            out.extend(fn.body)
        elif isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Name) \
                and s.value.func.id == "check":
            continue  # the call `check(entry_point)` itself
        else:
            out.append(s)
    return out


def make_plan(reference: str) -> Plan:
    entry_point, tests = parse_reference(reference)
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        raise BadReference(f"test code does not parse: {e}") from None
    body = _flatten_check(tree, entry_point)
    steps: list[dict[str, Any]] = []
    checks: dict[int, Check] = {}
    inside: list[int] = []
    for i, stmt in enumerate(body):
        if isinstance(stmt, ast.Assert):
            vc = _value_check(stmt.test)
            if vc is not None:
                expr, op, expected, kwargs = vc
                steps.append({"id": i, "kind": "value", "src": ast.unparse(expr)})
                checks[i] = Check(i, op, expected, kwargs)
            else:
                steps.append({"id": i, "kind": "assert", "src": ast.unparse(stmt)})
                inside.append(i)
        else:
            steps.append({"id": i, "kind": "exec", "src": ast.unparse(stmt)})
    if not checks and not inside:
        raise BadReference("test code has no assert statement")
    return Plan(steps, checks, inside, entry_point)


# -- judging, outside the sandbox ---------------------------------------------

def decode(enc: Any, depth: int = 0) -> Any:
    if depth > 80 or not isinstance(enc, list) or not enc or not isinstance(enc[0], str):
        return Unencodable("malformed")
    tag = enc[0]
    try:
        if tag == "N":
            return None
        if tag == "B":
            return enc[1] is True
        if tag == "I":
            return int(enc[1])
        if tag == "F":
            return float(enc[1])
        if tag == "C":
            return complex(float(enc[1]), float(enc[2]))
        if tag == "S" and isinstance(enc[1], str):
            return enc[1]
        if tag == "Y":
            return bytes.fromhex(enc[1])
        if tag == "L":
            return [decode(x, depth + 1) for x in enc[1]]
        if tag == "T":
            return tuple(decode(x, depth + 1) for x in enc[1])
        if tag == "D":
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in enc[1]}
        if tag == "E":
            return {decode(x, depth + 1) for x in enc[1]}
        if tag == "Z":
            return frozenset(decode(x, depth + 1) for x in enc[1])
        if tag == "X":
            return Unencodable(str(enc[1])[:200])
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    return Unencodable("malformed")


def _contains_unencodable(v: Any, depth: int = 0) -> bool:
    if isinstance(v, Unencodable):
        return True
    if depth > 80:
        return True
    if isinstance(v, (list, tuple, set, frozenset)):
        return any(_contains_unencodable(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return any(_contains_unencodable(k, depth + 1) or _contains_unencodable(x, depth + 1) for k, x in v.items())
    return False


def judge(check: Check, encoded: Any) -> bool:
    """Does the encoded value sent back by the harness satisfy the check? Plain builtins only."""
    if encoded is None:
        return False  # the expression raised
    value = decode(encoded)
    if _contains_unencodable(value):
        return False
    try:
        op, exp = check.op, check.expected
        if op == "eq":
            return bool(value == exp)
        if op == "ne":
            return bool(value != exp)
        if op == "is":
            return value is exp
        if op == "is_not":
            return value is not exp
        if op == "truthy":
            return bool(value)
        if op == "falsy":
            return not value
        if op == "isclose":
            return math.isclose(value, exp, **check.kwargs)
        if op in ("abs_lt", "abs_le"):
            d = abs(value - exp)
            return bool(d < check.kwargs["tol"]) if op == "abs_lt" else bool(d <= check.kwargs["tol"])
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return False
    return False
