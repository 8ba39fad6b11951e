"""`students:` in a recipe: several methods trained on one snapshot; a logit method's teacher context."""

import pytest

from flows.recipe import load_recipe, student_configs
from generators.seeds import InputError
from tests.conftest import ROOT
from training.methods.kd import KDConfig
from training.methods.sft import SFTConfig

HEAD = (f"seeds: [{ROOT / 'examples/math/seeds.jsonl'}]\ntemplates: {{math: {ROOT / 'examples/templates/math.j2'}}}\n"
        "teacher:\n  model: smollm2-135m-instruct\n  few_shot:\n    - {user: 'What is 2+2?', assistant: '4'}\n")


def _recipe(tmp_path, body: str):
    path = tmp_path / "r.yaml"
    path.write_text(HEAD + body)
    return load_recipe(str(path))


def test_students_take_the_train_section_and_change_what_they_name(tmp_path):
    recipe = _recipe(tmp_path, "train:\n  lora_r: 4\n  epochs: 3\nstudents:\n  - method: kd\n    alpha: 1.0\n"
                               "  - {method: sft, epochs: 1}\n")
    sft, kd, sft1 = student_configs(recipe)
    assert type(sft) is SFTConfig and type(kd) is KDConfig and type(sft1) is SFTConfig
    assert (kd.lora_r, kd.epochs, kd.alpha, kd.temperature) == (4, 3, 1.0, KDConfig().temperature)
    assert (sft1.lora_r, sft1.epochs) == (4, 1)
    # the recipe teacher runs the kd teacher model locally: its few-shot turns are the teacher's context
    assert kd.teacher_few_shot == (("What is 2+2?", "4"),)


def test_a_method_override_trains_that_method_alone_with_the_teachers_context(tmp_path):
    recipe = _recipe(tmp_path, "train:\n  lora_r: 4\nstudents:\n  - method: sft\n")
    [kd] = student_configs(recipe, "kd")
    assert type(kd) is KDConfig and kd.lora_r == 4 and kd.teacher_few_shot == (("What is 2+2?", "4"),)


def test_a_kd_teacher_other_than_the_recipe_teacher_gets_no_turns_and_explicit_turns_win(tmp_path):
    other = _recipe(tmp_path, "train:\n  method: kd\n  teacher_model: some/other-checkpoint\n")
    assert other.train.teacher_few_shot == ()
    explicit = _recipe(tmp_path, "train:\n  method: kd\n  teacher_few_shot: []\n")
    assert explicit.train.teacher_few_shot == ()


@pytest.mark.parametrize("body,message", [
    ("students: {method: kd}\n", "`students:` must be a list of mappings"),
    ("students:\n  - method: nope\n", "unknown training method 'nope'"),
    ("students:\n  - method: kd\n    alpha: 3\n", "alpha"),
])
def test_bad_students_are_refused_at_load_naming_the_line(tmp_path, body, message):
    with pytest.raises(InputError, match=message) as err:
        _recipe(tmp_path, body)
    assert ":" in str(err.value).split(" ")[0], "the message starts with file:line"
