"""The layout rules of DESIGN.md / issue 10, checked by parsing every module's imports and strings.

    warehouse                      (bottom: connection, migrations, typed reads/writes, ids)
    generators, verifiers          (above it; independent of each other)
    curation, training, evaluation (above those; independent of each other)
    flows                          (top: Prefect flows and the CLI; they only orchestrate)

A package imports only packages of a lower layer (and itself), and SQL text lives only in warehouse/.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAYERS = {"warehouse": 0, "generators": 1, "verifiers": 1, "curation": 2, "training": 2, "evaluation": 2, "flows": 3}
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE TABLE|ALTER TABLE|DROP TABLE)\s")


def modules() -> dict[str, Path]:
    out = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports count: they are still dependencies)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from pkg import module` depends on the module, not on pkg's __init__
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


def sql_strings(path: Path) -> list[tuple[int, str]]:
    """String literals (docstrings excluded) that read as SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value[:60]) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and SQL.search(node.value)]


MODULES = modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_or_sideways_imports(module):
    mine = module.split(".")[0]
    bad = sorted(name for name in imports(MODULES[module])
                 if name.split(".")[0] in LAYERS and name.split(".")[0] != mine
                 and LAYERS[name.split(".")[0]] >= LAYERS[mine])
    assert not bad, f"{module} (layer {LAYERS[mine]}) imports {bad}: only lower layers may be imported"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.startswith("warehouse")))
def test_sql_lives_only_in_the_warehouse(module):
    assert not sql_strings(MODULES[module]), f"{module} holds SQL; move it to a warehouse/ read or write"


def test_no_import_cycles_between_modules():
    graph = {m: {name for name in imports(p) if name in MODULES and name != m} for m, p in MODULES.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, f"import cycles: {cycles}"


def test_the_checks_catch_what_they_look_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""SELECT in a docstring is prose."""\nimport flows.cli\nfrom training import run\n'
                   'def f():\n    from curation.target import training_target\n    return "SELECT 1 FROM x"\n')
    assert imports(bad) == {"flows.cli", "training.run", "curation.target"}
    assert [line for line, _ in sql_strings(bad)] == [6]
