import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from tests.training.test_kd import _changed, _tiny_sibling
from tests.training.test_sft import make_snapshot
from training.methods.gkd import GKDConfig, to_messages
from training.run import train


def _gkd(tiny_model: str, tmp_path: Path, **overrides) -> GKDConfig:
    values = {"base_model": tiny_model, "max_steps": 2, "batch_size": 2, "learning_rate": 1e-2,
              "max_new_tokens": 8, "output_root": str(tmp_path / "runs")} | overrides
    return GKDConfig(**values)


def _jsd_to_teacher(student: str, teacher: str, rows: list[dict]) -> float:
    """TRL's GKD loss (beta 0.5) of `student` against `teacher` on all `rows` in one batch, as training sees them."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.experimental.gkd import GKDTrainer
    from trl.experimental.utils import DataCollatorForChatML

    from training.data import to_dataset

    tokenizer = AutoTokenizer.from_pretrained(student)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    batch = DataCollatorForChatML(tokenizer=tokenizer, max_length=256)(list(to_messages(to_dataset(rows))))
    logits = []
    for path in (student, teacher):
        with torch.no_grad():
            model = AutoModelForCausalLM.from_pretrained(path)
            logits.append(model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1])
    return GKDTrainer.generalized_jsd_loss(*logits, labels=batch["labels"][:, 1:], beta=0.5).item()


def _losses(result: dict) -> list[tuple[int, float]]:
    return [(entry["step"], entry["loss"]) for entry in result["log_history"] if "loss" in entry]


def test_off_policy_gkd_moves_the_student_toward_another_teacher_and_the_divergence_falls(wh, tiny_model,
                                                                                         tmp_path):
    from warehouse.snapshots import get_snapshot, snapshot_rows

    teacher = _tiny_sibling(tiny_model, tmp_path / "teacher", seed=1)
    snapshot = make_snapshot(wh)
    rows = snapshot_rows(wh, get_snapshot(wh, snapshot)["snapshot_id"])
    # lmbda = 0: every step trains on the snapshot's completions; batch = all 6 rows, so every step sees the
    # batch the divergence is measured on. (lr 1e-2 overshoots on this near-uniform pair; 1e-3 does not.)
    cfg = _gkd(tiny_model, tmp_path, lora=False, lmbda=0.0, beta=0.5, teacher_model=teacher, max_steps=4,
               batch_size=len(rows), learning_rate=1e-3)
    result = train(wh, snapshot, cfg, run_id="r")
    before = load_file(Path(tiny_model) / "model.safetensors")
    after = load_file(Path(result["output_dir"]) / "model.safetensors")
    assert len(_changed(before, after)) >= len(before) // 2
    start, end = _jsd_to_teacher(tiny_model, teacher, rows), _jsd_to_teacher(result["output_dir"], teacher, rows)
    assert start > 0, "a different teacher: the divergence is positive"
    assert _losses(result)[0] == (1, pytest.approx(start, rel=1e-3)), "step 1's loss is this divergence"
    assert end < 0.85 * start, f"4 steps toward the teacher must shrink the divergence: {start} -> {end}"
    assert result["sampled_batches"] == 0 and result["tokens_per_second"] > 0
    row = wh.query("SELECT * FROM training_runs")[0]
    config = json.loads(row["config"])
    assert (row["status"], row["steps"]) == ("completed", 4)
    assert config["method"] == "gkd" and config["teacher_model"] == teacher and config["lmbda"] == 0.0


def test_on_policy_lora_gkd_samples_every_batch_and_moves_the_adapters(wh, tiny_model, tmp_path):
    teacher = _tiny_sibling(tiny_model, tmp_path / "teacher", seed=1)
    result = train(wh, make_snapshot(wh), _gkd(tiny_model, tmp_path, lora=True, lora_r=4, lmbda=1.0,
                                               teacher_model=teacher), run_id="r")
    assert result["sampled_batches"] == 2, "lmbda = 1: both steps train on the student's own samples"
    adapter = load_file(Path(result["output_dir"]) / "adapter_model.safetensors")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b), "LoRA B starts at zero; training must move it"
    assert all(loss > 0 for _, loss in _losses(result))


@pytest.mark.parametrize("teacher", ["base", "missing"])
def test_the_base_model_or_a_missing_checkpoint_as_teacher_is_refused_before_training(wh, tiny_model, tmp_path,
                                                                                       teacher):
    # As its own teacher (no few-shot turns) the student's divergence and gradient are 0: nothing would train.
    path = tiny_model if teacher == "base" else str(tmp_path / "nowhere")
    with pytest.raises(ValueError) as err:
        train(wh, make_snapshot(wh), _gkd(tiny_model, tmp_path, teacher_model=path), run_id="r")
    message = str(err.value)
    assert "\n" not in message and path in message and "train.teacher_model" in message
    assert ("student's own base model" if teacher == "base" else "no local checkpoint") in message
    assert not (tmp_path / "runs").exists()


SHOTS = (("What is 7 x 8?", "7 x 8 = 56. The answer is 56."), ("What is 2 + 2?", "4"))


def test_the_teachers_turns_go_after_each_left_padded_rows_system_block_exactly_as_the_template_renders(tiny_model):
    from transformers import AutoTokenizer
    from trl.experimental.utils import DataCollatorForChatML

    from training.data import to_dataset
    from training.methods.gkd import with_context, without_context
    from training.methods.kd import ContextInsert

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    rows = [{"prompt": "What is 3 + 4?", "completion": "3 + 4 = 7."},
            {"prompt": "A much longer question about apples and pears?", "completion": "Twelve."}]
    batch = DataCollatorForChatML(tokenizer=tokenizer, max_length=256)(list(to_messages(to_dataset(rows))))
    assert (batch["attention_mask"][:, 0] == 0).any(), "one row is left-padded"
    context = ContextInsert.build(tokenizer, SHOTS)
    ids, mask, at = with_context(batch["input_ids"], batch["attention_mask"], context)
    for row, row_ids, row_mask in zip(rows, ids, mask):
        turns = [{"role": role, "content": text} for user, answer in SHOTS
                 for role, text in (("user", user), ("assistant", answer))]
        rendered = tokenizer.apply_chat_template(
            turns + [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["completion"]}],
            tokenize=False)
        assert row_ids[row_mask.bool()].tolist() == tokenizer(rendered, add_special_tokens=False)["input_ids"]
    # Removing the inserted positions gives back each row exactly (ids standing in for logits).
    assert torch.equal(without_context(ids[..., None], at, len(context.ids))[..., 0], batch["input_ids"])


def test_the_base_model_as_teacher_with_few_shot_turns_distils_on_policy(wh, tiny_model, tmp_path):
    cfg = _gkd(tiny_model, tmp_path, lora=True, lora_r=4, lmbda=1.0, teacher_few_shot=SHOTS)
    assert cfg.teacher_model == tiny_model
    result = train(wh, make_snapshot(wh), cfg, run_id="r")
    assert result["sampled_batches"] == 2
    # Same weights and inputs give 0 (below 1e-6 in float32); only the teacher's turns make it differ here.
    assert _losses(result)[0][1] > 1e-5, "the teacher's turns make it differ from the student"
    adapter = load_file(Path(result["output_dir"]) / "adapter_model.safetensors")
    assert any(v.abs().sum() > 0 for k, v in adapter.items() if "lora_B" in k)


def test_a_teacher_with_another_vocabulary_is_refused_before_training_naming_both(wh, tiny_model, tmp_path):
    teacher = _tiny_sibling(tiny_model, tmp_path / "teacher", seed=1, extra_tokens=3)
    with pytest.raises(ValueError) as err:
        train(wh, make_snapshot(wh), _gkd(tiny_model, tmp_path, teacher_model=teacher), run_id="r")
    message = str(err.value)
    assert "\n" not in message and teacher in message and tiny_model in message
    assert "49,155 tokens" in message and "49,152 tokens" in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.safetensors"))
    assert wh.scalar("SELECT status FROM training_runs") == "failed"


def test_rows_become_one_messages_list_each():
    from training.data import to_dataset

    data = to_messages(to_dataset([{"prompt": "1 + 1?", "completion": "2"}]))
    assert data.column_names == ["messages"]
    assert data[0]["messages"] == [{"role": "user", "content": "1 + 1?"}, {"role": "assistant", "content": "2"}]


@pytest.mark.parametrize("field,value", [("lmbda", -0.1), ("lmbda", 1.5), ("beta", 1.1), ("temperature", 0.0),
                                         ("max_new_tokens", 0), ("method", "kd")])
def test_gkd_config_checks_its_fields(field, value):
    with pytest.raises(ValueError, match=field):
        GKDConfig(**{field: value})


def test_every_field_has_help_and_the_teacher_defaults_to_the_base_model():
    import dataclasses

    assert all(f.metadata.get("help") for f in dataclasses.fields(GKDConfig))
    assert GKDConfig(base_model="runs/x/final").teacher_model == "runs/x/final"


def test_distill_train_accepts_method_gkd_and_trains_the_recipe_as_gkd(monkeypatch, wh):
    import flows.factory
    from flows.cli import app
    from flows.recipe import load_recipe
    from training.methods import with_method

    seen = {}

    def fake_train_flow(snapshot_name, recipe, warehouse, method):
        seen["cfg"] = with_method(load_recipe(recipe).train, method)
        return {"snapshot": snapshot_name, "method": method}

    monkeypatch.setattr(flows.factory, "train_flow", fake_train_flow)
    result = CliRunner().invoke(app, ["train", make_snapshot(wh), "--method", "gkd", "-w", wh.path])
    assert result.exit_code == 0, result.output
    assert type(seen["cfg"]) is GKDConfig and seen["cfg"].lmbda == GKDConfig().lmbda


def test_the_gkd_recipe_loads_as_gkd():
    from flows.recipe import load_recipe

    recipe = load_recipe("gkd")
    cfg = recipe.train
    assert type(cfg) is GKDConfig and cfg.teacher_model == cfg.base_model == recipe.teacher.model
    assert cfg.teacher_few_shot == recipe.teacher.few_shot and len(cfg.teacher_few_shot) == 5, \
        "the base model teaches only with the recipe teacher's turns"
