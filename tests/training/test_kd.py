import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.training.test_sft import make_snapshot
from training.methods.kd import KDConfig
from training.run import train


def _tiny_sibling(tiny_model: str, out: Path, seed: int, extra_tokens: int = 0) -> str:
    """Another tiny Llama beside `tiny_model`: other weights (seed), and `extra_tokens` more in its vocabulary."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    if extra_tokens:
        tokenizer.add_tokens([f"<extra_{i}>" for i in range(extra_tokens)])
    config = LlamaConfig.from_pretrained(tiny_model)
    config.vocab_size = len(tokenizer)
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


def _kd(tiny_model: str, tmp_path: Path, **overrides) -> KDConfig:
    values = {"base_model": tiny_model, "max_steps": 2, "batch_size": 2, "learning_rate": 1e-2, "top_k": 5,
              "output_root": str(tmp_path / "runs")} | overrides
    return KDConfig(**values)


def _changed(before: dict, after: dict) -> list[str]:
    return [k for k in before if not torch.equal(before[k], after[k])]


def test_full_kd_with_the_model_as_its_own_teacher_changes_the_weights_and_records_the_run(wh, tiny_model, tmp_path):
    result = train(wh, make_snapshot(wh), _kd(tiny_model, tmp_path, lora=False), run_id="r")
    before = load_file(Path(tiny_model) / "model.safetensors")
    after = load_file(Path(result["output_dir"]) / "model.safetensors")
    assert len(_changed(before, after)) >= len(before) // 2
    row = wh.query("SELECT * FROM training_runs")[0]
    config = json.loads(row["config"])
    assert (row["status"], row["steps"]) == ("completed", 2)
    assert config["method"] == "kd" and config["teacher_model"] == tiny_model and config["temperature"] == 2.0
    logged = [entry for entry in json.loads(row["metrics"])["log_history"] if "kd_loss" in entry]
    assert logged and logged[0]["kd_loss"] == pytest.approx(0.0, abs=1e-5), "student = teacher at step 1"
    assert logged[0]["ce_loss"] > 0
    assert result["tokens_per_second"] > 0 and result["ce_loss"] > 0


def test_lora_kd_moves_the_adapters(wh, tiny_model, tmp_path):
    result = train(wh, make_snapshot(wh), _kd(tiny_model, tmp_path, lora=True, lora_r=4, beta=0.5), run_id="r")
    adapter = load_file(Path(result["output_dir"]) / "adapter_model.safetensors")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b), "LoRA B starts at zero; training must move it"
    assert json.loads(wh.query("SELECT config FROM training_runs")[0]["config"])["beta"] == 0.5


def test_pure_kd_trains_toward_another_teacher(wh, tiny_model, tmp_path):
    teacher = _tiny_sibling(tiny_model, tmp_path / "teacher", seed=1)
    cfg = _kd(tiny_model, tmp_path, lora=False, alpha=1.0, teacher_model=teacher, max_steps=3)
    result = train(wh, make_snapshot(wh), cfg, run_id="r")
    before = load_file(Path(tiny_model) / "model.safetensors")
    after = load_file(Path(result["output_dir"]) / "model.safetensors")
    assert len(_changed(before, after)) >= len(before) // 2
    logged = [entry for entry in result["log_history"] if "kd_loss" in entry]
    first = logged[0]
    assert first["kd_loss"] > 0, "a different teacher: the KD term is positive"
    assert first["loss"] == pytest.approx(first["kd_loss"], rel=1e-3), "alpha = 1: the loss is KD alone"


def test_later_epochs_reuse_each_rows_teacher_topk(wh, tiny_model, tmp_path):
    teacher = _tiny_sibling(tiny_model, tmp_path / "t", seed=1)
    cfg = _kd(tiny_model, tmp_path, lora=False, alpha=1.0, teacher_model=teacher, max_steps=-1, epochs=3,
              batch_size=2)
    result = train(wh, make_snapshot(wh), cfg, run_id="r")
    batches_per_epoch = -(-result["examples"] // 2)
    assert result["steps"] == 3 * batches_per_epoch
    assert 1 <= result["teacher_forwards"] <= batches_per_epoch, "epochs 2 and 3 ask the teacher nothing new"
    logged = [e["kd_loss"] for e in result["log_history"] if "kd_loss" in e]
    assert all(value > 0 for value in logged), "cached top-k still gives a positive KD term to another teacher"


def test_a_teacher_with_another_vocabulary_is_refused_before_training_naming_both(wh, tiny_model, tmp_path):
    teacher = _tiny_sibling(tiny_model, tmp_path / "teacher", seed=1, extra_tokens=3)
    with pytest.raises(ValueError) as err:
        train(wh, make_snapshot(wh), _kd(tiny_model, tmp_path, teacher_model=teacher), run_id="r")
    message = str(err.value)
    assert "\n" not in message and teacher in message and tiny_model in message
    assert "49,155 tokens" in message and "49,152 tokens" in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.safetensors"))
    assert wh.scalar("SELECT status FROM training_runs") == "failed"


@pytest.mark.parametrize("field,value", [("temperature", 0.5), ("temperature", 11.0), ("alpha", 1.5),
                                         ("top_k", 0), ("beta", -0.1), ("method", "sft")])
def test_kd_config_checks_its_fields(field, value):
    with pytest.raises(ValueError, match=field):
        KDConfig(**{field: value})


def test_the_teacher_defaults_to_the_base_model():
    assert KDConfig(base_model="runs/x/final").teacher_model == "runs/x/final"


def test_with_method_keeps_the_shared_fields_and_defaults_the_rest():
    from training.methods import with_method
    from training.methods.kd import KDConfig
    from training.methods.sft import SFTConfig

    sft_cfg = SFTConfig(base_model="m", lora_r=4, max_steps=3, learning_rate=0.01)
    kd_cfg = with_method(sft_cfg, "kd")
    assert type(kd_cfg) is KDConfig and kd_cfg.method == "kd"
    assert (kd_cfg.base_model, kd_cfg.lora_r, kd_cfg.max_steps, kd_cfg.learning_rate) == ("m", 4, 3, 0.01)
    assert kd_cfg.temperature == KDConfig().temperature
    back = with_method(kd_cfg, "sft")
    assert type(back) is SFTConfig and back.identity() == {**sft_cfg.identity()}
    with pytest.raises(ValueError, match="unknown training method 'nope'"):
        with_method(sft_cfg, "nope")


SHOTS = (("What is 7 x 8?", "7 x 8 = 56. The answer is \\boxed{56}."), ("What is 2 + 2?", "The answer is 4."))


def test_the_teachers_turns_are_inserted_where_its_chat_template_puts_them(tiny_model):
    from transformers import AutoTokenizer

    from training.methods.kd import ContextInsert

    tok = AutoTokenizer.from_pretrained(tiny_model)
    row = [{"role": "user", "content": "What is 3 x 5?"}, {"role": "assistant", "content": "15"}]
    shots = [{"role": r, "content": t} for u, a in SHOTS for r, t in (("user", u), ("assistant", a))]

    def ids(messages):
        out = tok.apply_chat_template(messages, tokenize=True)
        return torch.tensor([list(out["input_ids"] if hasattr(out, "keys") else out)])

    student, teacher = ids(row), ids(shots + row)
    context = ContextInsert.build(tok, SHOTS)
    inserted, mask = context.apply(student, torch.ones_like(student))
    assert torch.equal(inserted, teacher), "the teacher sees exactly its own few-shot conversation"
    assert mask.shape == teacher.shape and bool(mask.all())
    logits = torch.arange(teacher.size(1), dtype=torch.float32)[None, :, None]
    kept = context.drop(logits)[0, :, 0]
    assert kept.size(0) == student.size(1)
    # the student's position i (after the insertion point) reads the teacher's position i + len(turns)
    assert kept[-1].item() == teacher.size(1) - 1 and kept[context.at - 1].item() == context.at - 1
    with pytest.raises(ValueError, match="system block"):
        context.apply(student[:, 3:], torch.ones_like(student[:, 3:]))


def test_kd_under_the_teachers_few_shot_context_trains_and_records_the_turns(wh, tiny_model, tmp_path):
    teacher = _tiny_sibling(tiny_model, tmp_path / "teacher", seed=1)
    plain = train(wh, make_snapshot(wh), _kd(tiny_model, tmp_path, lora=False, alpha=1.0, teacher_model=teacher),
                  run_id="r")
    shown = train(wh, make_snapshot(wh), _kd(tiny_model, tmp_path, lora=False, alpha=1.0, teacher_model=teacher,
                                             teacher_few_shot=[{"user": u, "assistant": a} for u, a in SHOTS]),
                  run_id="r")
    assert shown["training_run_id"] != plain["training_run_id"], "the turns are part of what decides the run"
    first = [e["kd_loss"] for e in shown["log_history"] if "kd_loss" in e][0]
    assert first != pytest.approx([e["kd_loss"] for e in plain["log_history"] if "kd_loss" in e][0]), \
        "the teacher's distribution depends on the turns it was shown"
    config = json.loads(wh.query("SELECT config FROM training_runs WHERE training_run_id = ?",
                                 [shown["training_run_id"]])[0]["config"])
    assert [list(s) for s in config["teacher_few_shot"]] == [list(s) for s in SHOTS]
