"""Turn a task's test code into a test plan, and judge the checks it recorded outside the sandbox.

Reference format
----------------
``reference`` is a JSON object ``{"entry_point": "add", "tests": ...}``
(``entry_point`` optional unless the tests define ``check``), where ``tests`` is

* Python test code: ``"assert add(1, 2) == 3\\nfor i in range(3):\\n    assert add(i, 0) == i"``;
* HumanEval's ``test`` field as written (``METADATA = ...``, ``def
  check(candidate): ...``): when the code defines ``check`` and never calls
  it, the runner appends ``check(<entry_point>)``;
* a JSON list of assert strings (MBPP's ``test_list``), run in order;

or the reference is plain Python test code, or a bare JSON list of assert strings.

The plan
--------
Every ``assert`` statement of the test code, wherever it sits (top level, a
loop, a helper function, ``check``), is rewritten into a call of a recorder
that the harness provides (``REC``), so every assert that runs is one recorded
check, with the values it compares:

* ``assert A == B`` and any comparison chain (``==, !=, <, <=, >, >=, in, not
  in``; ``is``/``is not`` against ``None``/``True``/``False``), ``assert
  math.isclose(A, B, rel_tol=.., abs_tol=..)``, ``assert abs(A - B) < T`` and
  ``math.fabs(...)``, ``assert E``, ``assert not E``: each operand that is a
  literal (``ast.literal_eval``) is kept HERE and never enters the sandbox;
  every other operand is evaluated inside and sent back in a type-strict
  encoding (exact builtin types only: an always-equal ``__eq__``, an ``int``
  subclass, a patched ``==`` are "unencodable" and fail). The comparison, the
  ``abs``, the subtraction run here, on plain decoded builtins.
* any other assert (``assert all(...) or x``, ``assert a is b``): the whole
  test is evaluated inside and its strictly-encoded value is judged truthy here.

The recorder never raises: a failing assert does not stop the test code (the
harness does not know the expected literals), but it fails the run, whatever
comes after it. Each top-level statement is one step; a top-level assert that
raises is a failed check and the next step runs; any other step that raises
(a ``check(...)`` call whose candidate raised, a loop, set-up code) stops the
tests and fails the run.

A run passes only if every recorded check passed, at least one check that
involves a value from the sandbox ran (``assert True`` does not count), every
*required* check ran (the asserts at the top level of the test code and of
``check``'s body when ``check`` is called unconditionally: a forged record
cannot leave them out) and no step raised.
"""

from __future__ import annotations

import ast
import json
import math
import operator
from dataclasses import dataclass, field
from typing import Any

_NOT_SET = object()
REC = "__distillery_check__"  # the recorder's name, bound in the test code's own namespace only


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
class Site:
    """One assert statement of the test code: how to judge the values it sends back."""

    id: int
    kind: str  # compare, isclose, truthy, falsy
    operands: list[Any]  # trees: ["lit", v] | ["val", k] | ["abs"|"fabs", t] | ["sub", a, b]
    ops: list[str] = field(default_factory=list)  # compare: eq, ne, lt, le, gt, ge, in, not_in, is, is_not
    kwargs: dict[str, Any] = field(default_factory=dict)
    n_values: int = 0  # operands evaluated inside the sandbox
    src: str = ""  # the assert as written, for messages
    required: bool = False

    @property
    def constant(self) -> bool:
        """No value from the sandbox (``assert True``): judged, but not counted as a check."""
        return self.n_values == 0

    @property
    def expected_outside(self) -> bool:
        """One sandbox value, claimed equal (or close, or a member) to a literal kept here: a candidate that
        forged the result record would have to know that literal, i.e. solve the task."""
        if self.n_values != 1:
            return False
        if self.kind == "isclose" or (self.kind == "compare" and all(o in ("eq", "in") for o in self.ops)):
            return _has_expected(self.operands)
        return any(t[0] in ("abs", "fabs") and _has_expected(t[1:]) for t in self.operands)


@dataclass
class Plan:
    steps: list[dict[str, Any]]  # what goes into the sandbox
    sites: dict[int, Site]  # judged here
    entry_point: str | None = None

    @property
    def required(self) -> set[int]:
        return {i for i, s in self.sites.items() if s.required}


class BadReference(ValueError):
    """The reference cannot be turned into a plan (an infrastructure problem, not the candidate's)."""


def _join_asserts(items: list[Any]) -> str:
    if not all(isinstance(x, str) for x in items):
        raise BadReference("a list of tests must hold strings")
    return "\n".join(items)


def parse_reference(reference: str) -> tuple[str | None, str]:
    """(entry point, test code) from a reference in any accepted format (see the module docstring)."""
    text = reference or ""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, list):
            return None, _join_asserts(obj)
        if isinstance(obj, dict) and "tests" in obj:
            ep = obj.get("entry_point")
            tests = obj["tests"]
            return (str(ep) if ep else None), (_join_asserts(tests) if isinstance(tests, list) else str(tests))
    return None, text


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_SET


def _has_expected(trees: list[Any]) -> bool:
    """Is there a literal other than None/True/False (which a forger could simply claim) among `trees`?"""
    return any((t[0] == "lit" and not any(t[1] is x for x in _SINGLETONS))
               or (t[0] not in ("lit", "val") and _has_expected(t[1:])) for t in trees)


def _func_name(f: ast.expr) -> str | None:
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        return f"{f.value.id}.{f.attr}"
    return None


def _tree(node: ast.expr, values: list[ast.expr], top: bool = False) -> list[Any]:
    """An operand as a tree judged here: literals stay here, anything else is a value sent from inside.
    At the top of a comparison, ``abs(A - B)``/``math.fabs(A - B)`` are taken apart so that A and B are
    encoded, not their difference (which a candidate's ``__sub__`` could make up)."""
    lit = _literal(node)
    if lit is not _NOT_SET:
        return ["lit", lit]
    if top and isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords \
            and _func_name(node.func) in ("abs", "math.fabs"):
        arg = node.args[0]
        inner = ["sub", _tree(arg.left, values), _tree(arg.right, values)] \
            if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Sub) else _tree(arg, values)
        return ["abs" if _func_name(node.func) == "abs" else "fabs", inner]
    values.append(node)
    return ["val", len(values) - 1]


_OPS = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.In: "in",
        ast.NotIn: "not_in", ast.Is: "is", ast.IsNot: "is_not"}
_SINGLETONS = (None, True, False)


def _compare_site(test: ast.Compare, values: list[ast.expr]) -> tuple[str, list, list, dict] | None:
    ops = [_OPS.get(type(o)) for o in test.ops]
    if None in ops:
        return None
    trees = [_tree(n, values, top=True) for n in [test.left, *test.comparators]]
    for i, op in enumerate(ops):
        if op in ("is", "is_not") and not any(t[0] == "lit" and any(t[1] is s for s in _SINGLETONS)
                                             for t in (trees[i], trees[i + 1])):
            return None  # identity of two sandbox objects cannot be judged here
    return "compare", trees, ops, {}


def _isclose_site(test: ast.Call, values: list[ast.expr]) -> tuple[str, list, list, dict] | None:
    if _func_name(test.func) not in ("math.isclose", "isclose") or len(test.args) != 2:
        return None
    kwargs = {}
    for kw in test.keywords:
        v = _literal(kw.value)
        if kw.arg not in ("rel_tol", "abs_tol") or v is _NOT_SET:
            return None
        kwargs[kw.arg] = v
    return "isclose", [_tree(a, values) for a in test.args], [], kwargs


def make_site(sid: int, node: ast.Assert) -> tuple[Site, list[ast.expr]]:
    """The site of one assert, and the expressions the sandbox must evaluate for it (in order)."""
    test = node.test
    values: list[ast.expr] = []
    shape = None
    if isinstance(test, ast.Compare):
        shape = _compare_site(test, values)
    elif isinstance(test, ast.Call):
        shape = _isclose_site(test, values)
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        shape = "falsy", [_tree(test.operand, values)], [], {}
    if shape is None:
        values = []
        shape = "truthy", [_tree(test, values)], [], {}
    kind, trees, ops, kwargs = shape
    src = ast.unparse(node)
    return Site(sid, kind, trees, ops, kwargs, len(values), src[:300]), values


class _Rewrite(ast.NodeTransformer):
    """Every assert -> ``REC(site_id, value, ...)``; the sites are kept here."""

    def __init__(self, required: set[int]) -> None:
        self.sites: dict[int, Site] = {}
        self.required = required  # id() of the assert nodes that must run

    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        site, values = make_site(len(self.sites), node)
        site.required = id(node) in self.required
        self.sites[site.id] = site
        call = ast.Call(ast.Name(REC, ast.Load()), [ast.Constant(site.id), *values], [])
        return ast.copy_location(ast.Expr(call), node)


def _check_function(tree: ast.Module) -> ast.FunctionDef | None:
    defs = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "check"]
    return defs[-1] if defs else None


def _calls_check(stmts: list[ast.stmt]) -> bool:
    """Does module-level code (not a function body) call ``check`` anywhere?"""
    for s in stmts:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for n in ast.walk(s):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "check":
                return True
    return False


def _is_plain_check_call(s: ast.stmt) -> bool:
    return isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and isinstance(s.value.func, ast.Name) \
        and s.value.func.id == "check"


def _unconditional_asserts(body: list[ast.stmt]) -> list[ast.Assert]:
    """Asserts that run whenever `body` runs (direct statements before any return/raise)."""
    out = []
    for s in body:
        if isinstance(s, (ast.Return, ast.Raise)):
            break
        if isinstance(s, ast.Assert):
            out.append(s)
    return out


def make_plan(reference: str) -> Plan:
    entry_point, tests = parse_reference(reference)
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        raise BadReference(f"test code does not parse: {e}") from None
    check = _check_function(tree)
    if check is not None and not _calls_check(tree.body):
        if not entry_point or not entry_point.isidentifier():
            raise BadReference("the tests define check(candidate) but the reference names no entry_point")
        tree.body.append(ast.parse(f"check({entry_point})").body[0])
    required = {id(a) for a in _unconditional_asserts(tree.body)}
    if check is not None and any(_is_plain_check_call(s) for s in tree.body):
        required |= {id(a) for a in _unconditional_asserts(check.body)}
    rewrite = _Rewrite(required)
    steps: list[dict[str, Any]] = []
    for i, stmt in enumerate(tree.body):
        kind = "check" if isinstance(stmt, ast.Assert) else "exec"
        new = rewrite.visit(stmt)
        step = {"id": i, "kind": kind, "src": ast.unparse(ast.fix_missing_locations(new))}
        if kind == "check":
            step["site"] = len(rewrite.sites) - 1
        steps.append(step)
    if not rewrite.sites:
        raise BadReference("test code has no assert statement")
    return Plan(steps, rewrite.sites, entry_point)


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


_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
            "ge": operator.ge, "in": lambda a, b: a in b, "not_in": lambda a, b: a not in b,
            "is": operator.is_, "is_not": operator.is_not}
_NUMBER = (bool, int, float, complex)


def _number(v: Any) -> Any:
    if type(v) not in _NUMBER:
        raise TypeError("not a number")
    return v


def _evaluate(tree: list[Any], values: list[Any]) -> Any:
    tag = tree[0]
    if tag == "lit":
        return tree[1]
    if tag == "val":
        return values[tree[1]]
    if tag == "abs":
        return abs(_number(_evaluate(tree[1], values)))
    if tag == "fabs":
        return math.fabs(_number(_evaluate(tree[1], values)))
    if tag == "sub":
        return _number(_evaluate(tree[1], values)) - _number(_evaluate(tree[2], values))
    raise ValueError(f"unknown operand {tag!r}")


def _holds(site: Site, values: list[Any]) -> bool:
    xs = [_evaluate(t, values) for t in site.operands]
    if site.kind == "truthy":
        return bool(xs[0])
    if site.kind == "falsy":
        return not xs[0]
    if site.kind == "isclose":
        return math.isclose(_number(xs[0]), _number(xs[1]), **site.kwargs)
    return all(bool(_COMPARE[op](xs[i], xs[i + 1])) for i, op in enumerate(site.ops))


def judge(site: Site, encoded: Any) -> bool:
    """Do the values the harness sent for one run of `site` satisfy it? Plain builtins only, judged here."""
    if not isinstance(encoded, list) or len(encoded) != site.n_values:
        return False
    values = [decode(e) for e in encoded]
    if any(_contains_unencodable(v) for v in values):
        return False
    try:
        return _holds(site, values)
    except (TypeError, ValueError, OverflowError, ArithmeticError, RecursionError, MemoryError):
        return False
