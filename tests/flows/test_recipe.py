import re
from pathlib import Path

import pytest

from flows.deployments import load_deployments
from flows.recipe import load_inputs, load_recipe
from generators.seeds import InputError
from tests.conftest import ROOT


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
    [deployment] = load_deployments(ROOT / "prefect.yaml")
    assert deployment.name == "refresh-quickstart"
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


@pytest.mark.parametrize("name", ["quickstart", "api-math", "vllm-math", "code", "kd"])
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
