"""Build `math_verify_suite.jsonl` from a checkout of huggingface/Math-Verify.

Reads the upstream test files with `ast` (nothing upstream is imported or run)
and records every (gold, prediction, expected) comparison a test makes, with
the options that test passes to math-verify:

* ``@pytest.mark.parametrize`` tables of tests that call ``compare_strings``
  (the suite's helper: ``verify(parse(gold, targets), parse(pred, targets), ...)``)
  or ``verify(parse(gold), parse(pred))`` directly;
* literal ``compare_strings(...)`` calls in a test body (``test_precision``).

Not comparisons, so not recorded: ``test_string_extraction.py`` (extraction
only), ``test_configs.py``, ``test_timeout.py``, ``test_raise_on_error.py``
(configuration, timeouts and mocks), and the ``sympy_expr_eq`` asserts of
``test_precision`` (sympy objects, no text).

    python bench/data/extract_math_verify_suite.py /path/to/Math-Verify [COMMIT]
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).with_name("math_verify_suite.jsonl")
HELPER_DEFAULTS = {"match_types": ["latex", "expr"], "precision": 6, "strict": True, "allow_set_relation_comp": False}
OPTION_NAMES = {"precision": "float_rounding"}  # compare_strings' name -> verify()'s name


def _value(node: ast.AST):
    """A literal, or the one computed value in the suite (an f-string of math.sqrt)."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        return eval(compile(ast.Expression(node), "<suite>", "eval"), {"math": math})  # noqa: S307 - trusted, read


def _parametrize(fn: ast.FunctionDef) -> tuple[list[str], list[tuple]] | None:
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and ast.unparse(dec.func).endswith("parametrize"):
            names = _value(dec.args[0])
            names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
            return names, [tuple(_value(e)) for e in dec.args[1].elts]
    return None


def _calls(fn: ast.FunctionDef) -> list[ast.Call]:
    return [n for n in ast.walk(fn) if isinstance(n, ast.Call) and ast.unparse(n.func) in ("compare_strings", "verify")]


def _options(call: ast.Call, row: dict) -> dict:
    """The options this call passes, with parameter names replaced by the row's values."""
    opts = dict(HELPER_DEFAULTS) if ast.unparse(call.func) == "compare_strings" else {}
    for kw in call.keywords:
        opts[kw.arg] = row[kw.value.id] if isinstance(kw.value, ast.Name) else _value(kw.value)
    return opts


def _case(source: str, test: str, gold, pred, expected, opts: dict, commit: str) -> dict:
    verify_opts = {OPTION_NAMES.get(k, k): v for k, v in opts.items() if k != "match_types"}
    return {"gold": gold, "prediction": pred, "expected": bool(expected), "source": source, "test": test,
            "match_types": opts.get("match_types"), "options": verify_opts, "commit": commit}


def cases_of_file(path: Path, rel: str, commit: str) -> list[dict]:
    out = []
    for fn in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(fn, ast.FunctionDef) or not fn.name.startswith("test_"):
            continue
        calls = _calls(fn)
        table = _parametrize(fn) if calls else None
        if table:
            names, rows = table
            for values in rows:
                row = dict(zip(names, values))
                exp = row.get("expected", row.get("result"))
                out.append(_case(rel, fn.name, row["gold"], row["pred"], exp, _options(calls[0], row), commit))
        elif calls:  # literal calls: compare_strings("gold", "pred", ...) == expected
            for cmp_ in (n for n in ast.walk(fn) if isinstance(n, ast.Compare)):
                call = cmp_.left
                if isinstance(call, ast.Call) and ast.unparse(call.func) == "compare_strings":
                    gold, pred = (_value(a) for a in call.args[:2])
                    out.append(_case(rel, fn.name, gold, pred, _value(cmp_.comparators[0]), _options(call, {}), commit))
    return out


def _mv_verdict(gold: str, pred: str, case: dict | None):
    """math-verify 0.9.0's verdict: with the case's recorded options, or (case None) its default call."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    if case is None or case["match_types"] is None:
        targets = [LatexExtractionConfig(), ExprExtractionConfig()]
    else:
        make = {"latex": lambda: LatexExtractionConfig(boxed_match_priority=0), "expr": ExprExtractionConfig}
        targets = [make[t]() for t in case["match_types"]]
    opts = case["options"] if case else {}
    return bool(verify(parse(gold, targets), parse(pred, targets), **opts))


def mark_option_cases(cases: list[dict]) -> None:
    """`options_decide`: math-verify itself gives the expected verdict only with the recorded
    options and not with its default call, i.e. the label belongs to those options."""
    for c in cases:
        with_opts = _mv_verdict(c["gold"], c["prediction"], c)
        default = _mv_verdict(c["gold"], c["prediction"], None)
        c["options_decide"] = with_opts == c["expected"] and default != c["expected"]


def main() -> None:
    repo = Path(sys.argv[1])
    commit = sys.argv[2] if len(sys.argv) > 2 else subprocess.check_output(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], text=True).strip()
    cases = []
    for path in sorted((repo / "tests").glob("test_*.py")):
        cases += cases_of_file(path, f"tests/{path.name}", commit)
    mark_option_cases(cases)
    header = {"_comment": "Comparisons recorded from the tests of github.com/huggingface/Math-Verify "
              f"(MIT licence, Copyright (c) 2024 The HuggingFace Team), commit {commit}; "
              "built by bench/data/extract_math_verify_suite.py. One case per line after this one. "
              "options_decide: math-verify 0.9.0 reproduces the expected verdict only with the recorded "
              "options (match_types, float_rounding, strict, allow_set_relation_comp), not with its default call; "
              "such cases are scored apart from the default-options agreement."}
    lines = [json.dumps(header)] + [json.dumps(c, ensure_ascii=False) for c in cases]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
