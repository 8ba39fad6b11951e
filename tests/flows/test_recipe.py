import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.deployments import load_deployments
from flows.recipe import load_inputs, load_recipe
from generators.seeds import InputError
from tests.conftest import ROOT

runner = CliRunner()


def test_quickstart_recipe_and_shipped_examples_validate():
    recipe = load_recipe("quickstart")
    inputs = load_inputs(recipe)
    assert len(inputs.split("train")) >= 250 and len(inputs.split("eval")) >= 50
    assert len({p.prompt_id for p in inputs.prompts}) == len(inputs.prompts)
    assert recipe.teacher.few_shot, "the quickstart teacher is prompted with worked examples"
    shot_questions = {q for q, _ in recipe.teacher.few_shot}
    assert not shot_questions & {p.text for p in inputs.prompts}, "few-shot examples must not leak seed problems"


def test_few_shot_items_need_user_and_assistant(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"seeds: [{ROOT / 'examples/math/seeds.jsonl'}]\ntemplates: {{math: {ROOT / 'examples/templates/math.j2'}}}\n"
                      "teacher:\n  few_shot:\n    - {user: hi}\n")
    with pytest.raises(InputError, match="few_shot item needs exactly `user` and `assistant`"):
        load_recipe(str(recipe))


def test_unknown_recipe_lists_the_known_ones():
    with pytest.raises(InputError, match="quickstart"):
        load_recipe("no-such-recipe")


def test_prefect_yaml_declares_a_scheduled_refresh(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # entrypoints resolve against prefect.yaml, not the working directory
    deployment = {d.name: d for d in load_deployments(ROOT / "prefect.yaml")}["refresh-quickstart"]
    assert deployment.parameters == {"recipe": "quickstart"}
    assert deployment.schedules[0].schedule.cron == "0 */6 * * *"


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5"])
def test_max_prompts_must_be_a_positive_count(tmp_path, value):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"seeds: [{ROOT / 'examples/math/seeds.jsonl'}]\ntemplates: {{math: {ROOT / 'examples/templates/math.j2'}}}\n"
                      f"teacher: {{}}\nmax_prompts: {value}\n")
    with pytest.raises(InputError) as err:
        load_recipe(str(recipe))
    assert err.value.line == 4 and "max_prompts must be a positive integer" in err.value.problem


@pytest.mark.parametrize("name", ["quickstart", "api-math", "vllm-math", "code", "kd", "kd-stored", "gkd", "mixing",
                                  "compare-methods"])
def test_every_shipped_recipe_validates(name):
    recipe = load_recipe(name)
    inputs = load_inputs(recipe)
    assert inputs.split("train") and inputs.split("eval")
    if recipe.synthesis:
        assert inputs.knowledge_prompts, "synthesis recipes render their writer prompts up front"


def _recipe_with_train(tmp_path, train: str):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"seeds: [{ROOT / 'examples/math/seeds.jsonl'}]\ntemplates: {{math: {ROOT / 'examples/templates/math.j2'}}}\n"
                      f"teacher: {{}}\ntrain:\n{train}")
    return str(recipe)


def test_train_method_selects_its_typed_config(tmp_path):
    from training.methods.sft import SFTConfig

    recipe = load_recipe(_recipe_with_train(tmp_path, "  method: sft\n  max_steps: 7\n"))
    assert type(recipe.train) is SFTConfig and recipe.train.max_steps == 7
    assert type(load_recipe("quickstart").train) is SFTConfig, "no method means sft"


def test_unknown_train_method_names_the_line_and_the_known_ones(tmp_path):
    with pytest.raises(InputError) as err:
        load_recipe(_recipe_with_train(tmp_path, "  max_steps: 7\n  method: distill-magic\n"))
    assert err.value.line == 6 and "unknown training method 'distill-magic'" in err.value.problem
    assert "sft" in err.value.fix


def test_a_method_config_refuses_fields_it_does_not_have(tmp_path):
    with pytest.raises(InputError, match="unknown key `train.temperature_kd`"):
        load_recipe(_recipe_with_train(tmp_path, "  method: sft\n  temperature_kd: 2.0\n"))


def test_verify_options_are_validated_and_a_changed_policy_is_a_new_verifier_version(tmp_path):
    from verifiers import verifier_for

    recipe = _recipe_with_train(tmp_path, "  method: sft\n")
    path = Path(recipe)
    path.write_text(path.read_text() + "verify:\n  math:\n    decimal_approx: true\n")
    assert load_recipe(recipe).verify == {"math": {"decimal_approx": True}}
    approx = verifier_for("math", **load_recipe(recipe).verify["math"])
    assert approx.version != verifier_for("math").version, "verdicts under another policy are told apart"
    assert approx.verify("0.3333333", "1/3").passed and not verifier_for("math").verify("0.3333333", "1/3").passed
    path.write_text(path.read_text().replace("decimal_approx: true", "decimal_aprox: true"))
    with pytest.raises(InputError) as err:
        load_recipe(recipe)
    assert err.value.line == 8 and "decimal_aprox" in err.value.problem


def test_a_bad_field_is_reported_at_its_own_section_line_not_at_a_namesake(tmp_path):
    recipe = tmp_path / "r.yaml"
    text = (ROOT / "recipes/kd.yaml").read_text()
    assert "  temperature:" in text.split("\ntrain:\n")[0], "the teacher has its own temperature"
    head, train = text.split("\ntrain:\n")
    recipe.write_text(head + "\ntrain:\n" + re.sub(r"  temperature: [0-9.]+", "  temperature: 50", train, count=1))
    with pytest.raises(InputError) as err:
        load_recipe(str(recipe))
    lines = recipe.read_text().splitlines()
    assert lines[err.value.line - 1].startswith("  temperature: 50") and "temperature" in err.value.problem


def test_recipe_explain_lists_every_field_of_every_section_with_help_and_default():
    import dataclasses

    from flows.recipe import SECTIONS, TOP_KEYS, explain
    from generators.synthesis import SynthesisConfig
    from training.methods import METHODS

    rows = explain()
    listed = {(r["section"].split(" ")[0], r["field"]) for r in rows}
    for name, cls in [*SECTIONS.items(), ("synthesis", SynthesisConfig), *(("train", m.config) for m in
                                                                          METHODS.values())]:
        assert {(name, f.name) for f in dataclasses.fields(cls)} <= listed, name
    assert {k for s, k in listed if s == "(top)"} == TOP_KEYS - set(SECTIONS), "every top-level key"
    by = {(r["section"], r["field"]): r for r in rows}
    assert (by["train", "lora_r"]["default"], by["train", "lora_r"]["help"]) == ("16", "LoRA rank")
    assert by["train", "learning_rate"]["help"].startswith("peak learning rate")
    assert by["train (method: kd)", "alpha"]["default"] == "0.5" and "alpha" not in {
        f for s, f in by if s == "train (method: sft)"}, "a method lists only the fields it adds"
    assert by["snapshot", "general_ratio"]["default"] == "1:2"


def test_recipe_explain_cli_shows_a_recipes_values(tmp_path):
    result = runner.invoke(app, ["recipe", "explain", "kd", "--section", "train", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["field"]: r for r in json.loads(result.stdout)}
    assert rows["method"]["value"] == "kd" and rows["alpha"]["section"] == "train (method: kd)"
    result = runner.invoke(app, ["recipe", "explain", "--section", "nope"])
    assert result.exit_code == 2 and "train" in result.output


def test_recipe_paths_resolve_against_its_project_folder_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_recipe("kd")
    assert cfg.snapshot.general == str(ROOT / "examples/general/instructions.jsonl")
    assert cfg.train.output_root == str(ROOT / "runs")
    recipe = tmp_path / "project" / "r.yaml"
    recipe.parent.mkdir()
    recipe.write_text(f"seeds: [{ROOT}/examples/math/seeds.jsonl]\ntemplates: {{math: {ROOT}/examples/templates/"
                      "math.j2}\nteacher: {backend: transformers}\nsnapshot: {general: data/g.jsonl}\n"
                      "train: {output_root: out}\n")
    cfg = load_recipe(str(recipe))
    assert cfg.snapshot.general == str(recipe.parent / "data/g.jsonl") and cfg.train.output_root == str(
        recipe.parent / "out")
    recipe.write_text(recipe.read_text().replace("data/g.jsonl", "org/some-hub-dataset"))
    assert load_recipe(str(recipe)).snapshot.general == "org/some-hub-dataset", "a hub id is left alone"


def test_kd_stored_snapshots_only_its_own_teachers_rows():
    """recipes/kd-stored.yaml names its teacher's id in `snapshot.teachers` (rows of other teachers in a shared
    warehouse have no stored top-k): the id must be the one its teacher section makes."""
    recipe = load_recipe("kd-stored")
    assert recipe.snapshot.teachers == [recipe.teacher.teacher_id]
    assert recipe.train.source == "stored" and recipe.teacher.logprobs == 20


def test_compare_methods_trains_sft_kd_and_gkd_on_one_snapshot():
    from flows.recipe import student_configs

    recipe = load_recipe("compare-methods")
    assert [s.method for s in student_configs(recipe)] == ["sft", "kd", "gkd"]
    assert recipe.snapshot == load_recipe("quickstart").snapshot and recipe.name == "quickstart"


def test_students_write_where_the_train_section_does():
    """`students:` resolve `output_root` from the recipe's project like `train:` (a relative `runs` made the
    quickstart's kd run record `runs/<id>/final`, which only resolved from the project folder)."""
    recipe = load_recipe("quickstart")
    assert Path(recipe.train.output_root).is_absolute()
    assert [s.output_root for s in recipe.students] == [recipe.train.output_root]
