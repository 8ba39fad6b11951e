"""The mixing ablation: one snapshot, student and evaluation per general:distilled ratio, after the factory,
with a scripted teacher, the real math verifier, the tiny real model and real DuckDB."""

import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from flows.ablation import ablation_table, mix_spec, parse_ratios
from flows.cli import app
from generators.seeds import InputError
from generators.teachers import BACKENDS
from tests.fakes import ScriptedTeacher
from warehouse.snapshot_spec import SnapshotSpec

SEEDS = [
    {"id": "a1", "domain": "math", "question": "What is 2 + 3?", "answer": "5"},
    {"id": "a2", "domain": "math", "question": "What is 4 + 4?", "answer": "8"},
    {"id": "a3", "domain": "math", "question": "What is 10 - 7?", "answer": "3"},
    {"id": "e1", "domain": "math", "question": "What is 1 + 1?", "answer": "2", "split": "eval"},
    {"id": "e2", "domain": "math", "question": "What is 9 - 4?", "answer": "5", "split": "eval"},
]
SCRIPT = {  # sample 0 right, sample 1 wrong: 3 curated rows
    "What is 2 + 3?": ["2 + 3 = 5\nThe answer is \\boxed{5}.", "The answer is \\boxed{6}."],
    "What is 4 + 4?": ["4 + 4 = 8\nThe answer is \\boxed{8}.", "It is 9."],
    "What is 10 - 7?": ["10 - 7 = 3\nThe answer is \\boxed{3}.", "The answer is \\boxed{4}."],
    "What is 1 + 1?": ["The answer is \\boxed{2}."],
    "What is 9 - 4?": ["The answer is \\boxed{5}."],
}
runner = CliRunner()


@pytest.fixture
def project(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setitem(BACKENDS, "scripted", lambda cfg: ScriptedTeacher(cfg, SCRIPT))
    ScriptedTeacher.history = []
    (tmp_path / "seeds.jsonl").write_text("\n".join(json.dumps(s) for s in SEEDS))
    (tmp_path / "general.jsonl").write_text("\n".join(
        json.dumps({"id": f"g{i}", "prompt": f"Say {i}.", "response": f"{i}."}) for i in range(5)))
    (tmp_path / "math.j2").write_text("{{ question }}")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""
name: mix
seeds: [{tmp_path / 'seeds.jsonl'}]
templates: {{math: {tmp_path / 'math.j2'}}}
teacher: {{backend: scripted, model: {tiny_model}, n: 2, batch_size: 3}}
curate: {{max_per_prompt: 2}}
snapshot: {{general: {tmp_path / 'general.jsonl'}, general_ratio: "1:3"}}
train: {{base_model: {tiny_model}, max_steps: 2, batch_size: 2, lora_r: 4, output_root: {tmp_path / 'runs'}}}
eval: {{max_tokens: 4, probe_limit: 2}}
""")
    return recipe, tmp_path / "w.duckdb"


def test_ablation_trains_and_evaluates_one_student_per_ratio(prefect_api, project):
    from flows.ablation import ablation
    from flows.factory import factory
    from warehouse.db import Warehouse

    recipe, db = project
    made = factory(recipe=str(recipe), warehouse=str(db))
    assert (made["snapshot"]["n_distilled"], made["snapshot"]["n_general"]) == (3, 1)
    asked = len(ScriptedTeacher.history)
    rows = ablation(recipe=str(recipe), warehouse=str(db), ratios=["0", "1:3", "1:1"])

    assert len(ScriptedTeacher.history) == asked, "the ablation generates nothing (the teacher's eval is stored)"
    assert [(r["ratio"], r["n_distilled"], r["n_general"]) for r in rows] == \
        [("0", 3, 0), ("1:3", 3, 1), ("1:1", 3, 3)]
    assert rows[1]["snapshot"] == made["snapshot"]["name"], "the recipe's own mix is the factory's snapshot"
    assert rows[1]["training_run_id"] == made["train"]["training_run_id"] and rows[1]["reused"] is True
    assert [r["reused"] for r in rows] == [False, True, False]
    assert len({r["training_run_id"] for r in rows}) == 3 and len({r["snapshot"] for r in rows}) == 3

    wh = Warehouse(db)
    snaps = {r["name"]: (r["n_distilled"], r["n_general"]) for r in wh.query("SELECT * FROM snapshots")}
    assert snaps == {r["snapshot"]: (3, r["n_general"]) for r in rows}
    runs = wh.query("SELECT training_run_id, snapshot_id FROM training_runs")
    assert len(runs) == 3, "one training run per ratio, the factory's reused"
    run_id = wh.scalar("SELECT run_id FROM runs WHERE flow = 'ablation'")
    evals = wh.query("SELECT e.role, e.training_run_id, m.metric AS name, m.value FROM evaluations e "
                     "JOIN evaluation_metrics m USING (evaluation_id) WHERE e.role = 'student' "
                     "AND m.metric IN ('general_nll_delta', 'truthfulqa_delta', 'hellaswag_delta')")
    by_run = {}
    for e in evals:
        by_run.setdefault(e["training_run_id"], {})[e["name"]] = e["value"]
    assert set(by_run) == {r["training_run_id"] for r in rows}
    assert all(v is not None for m in by_run.values() for v in m.values()) and \
        all(len(m) == 3 for m in by_run.values()), "forgetting is forced on for every student"
    assert wh.scalar("SELECT status FROM runs WHERE run_id = ?", [run_id]) == "completed"

    for r in rows:
        assert r["role"].startswith("student:sft:") and r["n"] == 2
        assert r["accuracy_ci_low"] <= r["accuracy"] <= r["accuracy_ci_high"]
        assert r["p_vs_base"] is not None and r["flips_lost"] is not None and r["flips_gained"] is not None
        assert r["general_nll_delta"] == pytest.approx(r["general_nll"] - r["base_general_nll"])
        assert None not in (r["truthfulqa_delta"], r["hellaswag_delta"])
    nll = [r["general_nll"] for r in rows]
    assert len(set(nll)) == 3, "three different students, three general NLLs"

    console = Console(record=True, width=200)
    console.print(ablation_table(rows, "mix"))
    lines = console.export_text().splitlines()
    assert f"base accuracy {100 * rows[0]['base_accuracy']:.1f}% on 2 items" in lines[0]
    table = {line.split("│")[1].strip(): line for line in lines if line.count("│") > 5}
    assert {k: v for k, v in table.items() if k in ("0", "1:3", "1:1")}.keys() == {"0", "1:3", "1:1"}
    assert "3 + 0" in table["0"] and "3 + 3" in table["1:1"] and "(reused)" in table["1:3"]

    again = ablation(recipe=str(recipe), warehouse=str(db), ratios=["0", "1:3", "1:1"])
    assert [r["reused"] for r in again] == [True] * 3
    assert [r["general_nll"] for r in again] == nll
    assert wh.scalar("SELECT count(*) FROM training_runs") == 3 and wh.scalar("SELECT count(*) FROM snapshots") == 3


def test_ablate_refuses_before_prefect_without_curated_rows(project, tmp_path):
    from warehouse.db import Warehouse

    recipe, db = project
    Warehouse(db).init()
    result = runner.invoke(app, ["ablate", "-r", str(recipe), "-w", str(db)])
    assert result.exit_code == 2, result.output
    assert "no curated rows match recipe mix's snapshot filters" in result.output
    assert "Traceback" not in result.output
    assert Warehouse(db).scalar("SELECT count(*) FROM runs") == 0, "refused before a run row is written"
    missing = runner.invoke(app, ["ablate", "-r", str(recipe), "-w", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "no warehouse" in missing.output
    assert not (tmp_path / "none.duckdb").exists()


def test_ablate_refuses_a_recipe_without_general_data(project):
    recipe, db = project
    lines = recipe.read_text().splitlines()
    recipe.write_text("\n".join("snapshot: {seed: 0}" if line.startswith("snapshot:") else line for line in lines))
    result = runner.invoke(app, ["ablate", "-r", str(recipe), "-w", str(db)])
    assert result.exit_code == 2 and "has no `general:` data" in result.output


def test_ratios_parse_like_the_snapshot_ratio():
    assert parse_ratios(None) == ["0", "1:4", "1:1"]
    assert parse_ratios("0, 1:4,1:1") == ["0", "1:4", "1:1"]
    for bad, says in [("1:0", "distilled > 0"), ("a", "must look like '1:2'"), ("0,,1:1", "empty ratio"),
                      ("1:2,2:4", "are the same mix"), ("-1:2", "general >= 0")]:
        with pytest.raises(InputError, match=says):
            parse_ratios(bad)


def test_a_mix_keeps_the_recipes_name_only_at_the_recipes_ratio():
    spec = SnapshotSpec(name="frozen", general="g.jsonl", general_ratio="1:4", seed=3)
    assert mix_spec(spec, "2:8") == spec.__class__(**{**spec.to_dict(), "general_ratio": "2:8"})
    zero = mix_spec(spec, "0")
    assert (zero.name, zero.general_ratio, zero.ratio(), zero.seed) == (None, "0:1", (0, 1), 3)
    assert mix_spec(spec, "1:1").name is None


def test_mixing_recipe_is_the_quickstart_without_its_kd_student():
    from flows.recipe import load_inputs, load_recipe

    mixing, quickstart = load_recipe("mixing"), load_recipe("quickstart")
    load_inputs(mixing, evaluates=True)
    for section in ("seeds", "templates", "max_prompts", "teacher", "curate", "snapshot", "train", "eval"):
        assert getattr(mixing, section) == getattr(quickstart, section), section
    assert mixing.students == () and mixing.snapshot.general, "one student per ratio; general data to vary"


def test_ablate_names_a_bad_ratio_in_one_line(tmp_path):
    result = runner.invoke(app, ["ablate", "-r", "mixing", "--ratios", "0,1:0", "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2 and "ratio '1:0'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "w.duckdb").exists()
