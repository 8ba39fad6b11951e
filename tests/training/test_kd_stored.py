"""kd `source: stored`: offline top-k distillation from the logprobs captured at generation time.

The alignment test is the strong one: the stored top-k of a teacher that *is* the student give a KD term of 0
at the first step only if every stored position lines up with the token the student predicts there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from curation.curate import curate
from curation.snapshot import create_snapshot
from generators.rows import logprobs_row
from generators.teachers import Request, TeacherConfig
from tests.training.test_kd import _changed, _tiny_sibling
from tests.warehouse.test_curation_and_snapshots import add_generation, add_prompt
from training.methods.kd import KDConfig
from training.run import train
from warehouse.snapshot_spec import SnapshotSpec

PROMPTS = 6


def _stored_snapshot(wh, teacher_model: str, with_logprobs: int = PROMPTS, general: Path | None = None) -> str:
    """PROMPTS verified generations; the first `with_logprobs` carry the top-5 that `teacher_model` (transformers
    backend, no few-shot) gave for its own sampled tokens on the same prompt."""
    from generators.teachers.hf import TransformersTeacher

    teacher = TransformersTeacher(TeacherConfig(model=teacher_model, logprobs=5, n=1, max_tokens=12,
                                                temperature=1.0, batch_size=8))
    completions = {c.key: c for batch in teacher.generate([Request(f"g{i}", f"question p{i}", 0)
                                                           for i in range(PROMPTS)]) for c in batch}
    for i in range(PROMPTS):
        add_prompt(wh, f"p{i}")
        add_generation(wh, f"g{i}", f"p{i}", f"{i} + 5 = {i + 5}\nThe answer is \\boxed{{{i + 5}}}.", True,
                       extracted=str(i + 5))
        if i < with_logprobs:
            wh.insert("generation_logprobs", [logprobs_row(completions[f"g{i}"])])
    curate(wh, run_id="r")
    spec = SnapshotSpec(name="stored", general=str(general), general_ratio="1:2") if general else \
        SnapshotSpec(name="stored")
    return create_snapshot(wh, spec, run_id="r")["name"]


def _kd(student: str, tmp_path: Path, **overrides) -> KDConfig:
    values = {"base_model": student, "source": "stored", "max_steps": 2, "batch_size": 3, "learning_rate": 1e-2,
              "top_k": 5, "lora": False, "output_root": str(tmp_path / "runs")} | overrides
    return KDConfig(**values)


def test_stored_topk_of_the_student_itself_line_up_position_by_position(wh, tiny_model, tmp_path):
    snapshot = _stored_snapshot(wh, tiny_model)
    result = train(wh, snapshot, _kd(tiny_model, tmp_path, alpha=1.0, temperature=1.0, max_steps=1), run_id="r")
    first = next(e for e in result["log_history"] if "kd_loss" in e)
    assert first["kd_loss"] == pytest.approx(0.0, abs=2e-4), "teacher = student: only a misaligned position adds KL"
    assert first["ce_loss"] > 0
    assert result["kd_rows_with_topk"] == PROMPTS and result["kd_rows_missing_topk"] == 0
    assert result["teacher_forwards"] == 0, "offline: no teacher runs at training time"


def test_stored_kd_moves_another_student_toward_the_teacher_and_the_loss_falls(wh, tiny_model, tmp_path):
    snapshot = _stored_snapshot(wh, "smollm2-135m-instruct")  # a real teacher, same vocabulary as the tiny student
    cfg = _kd(tiny_model, tmp_path, alpha=1.0, max_steps=8, epochs=8)
    result = train(wh, snapshot, cfg, run_id="r")
    before = load_file(Path(tiny_model) / "model.safetensors")
    after = load_file(Path(result["output_dir"]) / "model.safetensors")
    assert len(_changed(before, after)) >= len(before) // 2
    logged = [e["kd_loss"] for e in result["log_history"] if "kd_loss" in e]
    assert logged[0] > 0.05 and logged[-1] < 0.8 * logged[0], logged
    config = json.loads(wh.query("SELECT config FROM training_runs")[0]["config"])
    assert (config["source"], config["missing"]) == ("stored", "refuse")


def test_general_rows_train_on_ce_only_beside_stored_rows(wh, tiny_model, tmp_path):
    general = tmp_path / "general.jsonl"
    general.write_text("\n".join(json.dumps({"id": f"x{i}", "prompt": f"Say {i}.", "response": f"{i}."})
                                 for i in range(3)))
    snapshot = _stored_snapshot(wh, tiny_model, general=general)
    result = train(wh, snapshot, _kd(tiny_model, tmp_path, alpha=1.0, temperature=1.0, max_steps=1,
                                     batch_size=16), run_id="r")
    assert result["examples"] == PROMPTS + 3 and result["kd_rows_with_topk"] == PROMPTS
    first = next(e for e in result["log_history"] if "kd_loss" in e)
    assert first["kd_loss"] == pytest.approx(0.0, abs=2e-4), "general positions must not enter the KD term"


def test_rows_without_stored_topk_are_counted_and_refused_before_training_with_the_fix(wh, tiny_model, tmp_path):
    snapshot = _stored_snapshot(wh, tiny_model, with_logprobs=4)
    with pytest.raises(ValueError) as err:
        train(wh, snapshot, _kd(tiny_model, tmp_path), run_id="r")
    message = str(err.value)
    assert "\n" not in message and f"2 of {PROMPTS} distilled rows" in message
    assert "logprobs: 20" in message and "missing: ce" in message and "source: forward" in message
    assert not any((tmp_path / "runs").rglob("*.safetensors"))
    assert wh.scalar("SELECT status FROM training_runs") == "failed"


def test_missing_ce_trains_the_rows_without_topk_on_ce_and_records_the_count(wh, tiny_model, tmp_path, caplog):
    snapshot = _stored_snapshot(wh, tiny_model, with_logprobs=4)
    result = train(wh, snapshot, _kd(tiny_model, tmp_path, missing="ce"), run_id="r")
    assert (result["kd_rows_with_topk"], result["kd_rows_missing_topk"]) == (4, 2)
    assert f"4 of {PROMPTS} distilled rows" in caplog.text and "CE only" in caplog.text
    assert json.loads(wh.query("SELECT metrics FROM training_runs")[0]["metrics"])["kd_rows_missing_topk"] == 2


def test_no_stored_topk_at_all_is_refused(wh, tiny_model, tmp_path):
    snapshot = _stored_snapshot(wh, tiny_model, with_logprobs=0)
    with pytest.raises(ValueError, match=f"none of the {PROMPTS} distilled rows has stored top-k"):
        train(wh, snapshot, _kd(tiny_model, tmp_path, missing="ce"), run_id="r")


def test_stored_topk_of_another_vocabulary_are_refused_naming_both(wh, tiny_model, tmp_path):
    teacher = _tiny_sibling(tiny_model, tmp_path / "teacher", seed=1, extra_tokens=3)
    snapshot = _stored_snapshot(wh, teacher)
    with pytest.raises(ValueError) as err:
        train(wh, snapshot, _kd(tiny_model, tmp_path), run_id="r")
    message = str(err.value)
    assert "\n" not in message and "49,155 tokens" in message and "49,152 tokens" in message
    assert tiny_model in message and "method sft" in message


def test_forward_kd_run_ids_do_not_change_with_the_stored_fields(tiny_model):
    forward = KDConfig(base_model=tiny_model)
    assert "source" not in forward.run_key() and "missing" not in forward.run_key()
    assert KDConfig(base_model=tiny_model, source="stored").run_key()["source"] == "stored"
    with pytest.raises(ValueError, match="source"):
        KDConfig(source="api")


def test_an_api_teachers_stored_ids_train_kd_end_to_end(tmp_path, tiny_model, prefect_api):
    """The openai backend against the loopback server with `tokenizer:` (token ids asked for and stored), the
    refresh flow (generate, verify, curate), a snapshot, then kd source stored on those rows."""
    from transformers import AutoTokenizer

    from flows.factory import refresh
    from tests.flows.test_api_teacher_flows import _project, _seeds
    from tests.openai_server import LoopbackServer
    from warehouse.db import Warehouse

    with LoopbackServer(tokenizer=AutoTokenizer.from_pretrained(tiny_model)) as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(4), teacher=f"  logprobs: 5\n  tokenizer: {tiny_model}")
        out = refresh(str(recipe), str(db))
    assert out["verify"]["passed"] == 8
    wh = Warehouse(db)
    stored = wh.query("SELECT token_ids, top_ids, vocab_size FROM generation_logprobs")
    assert len(stored) == 8 and all(r["token_ids"] and len(r["top_ids"][0]) == 5 for r in stored)
    assert {r["vocab_size"] for r in stored} == {49152}
    snapshot = create_snapshot(wh, SnapshotSpec(name="api"), run_id="r")["name"]
    result = train(wh, snapshot, _kd(tiny_model, tmp_path, max_steps=2), run_id="r")
    assert result["kd_rows_with_topk"] == result["examples"] > 0 and result["kd_loss"] > 0
    assert torch.isfinite(torch.tensor(result["train_loss"]))


def test_distill_train_counts_and_refuses_before_prefect_starts(wh, tiny_model, tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app
    from tests.conftest import ROOT

    snapshot = _stored_snapshot(wh, tiny_model, with_logprobs=4)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: stored\nseeds: [{ROOT / 'examples/math/seeds.jsonl'}]\n"
                      f"templates: {{math: {ROOT / 'examples/templates/math.j2'}}}\n"
                      f"teacher: {{backend: transformers, model: {tiny_model}}}\n"
                      f"train:\n  method: kd\n  source: stored\n  base_model: {tiny_model}\n")
    result = CliRunner().invoke(app, ["train", snapshot, "-r", str(recipe), "-w", wh.path])
    assert result.exit_code == 2, result.output
    assert f"2 of {PROMPTS} distilled rows have no stored top-k" in result.output and "fix:" in result.output
    assert "Traceback" not in result.output
    assert wh.scalar("SELECT count(*) FROM runs") == 0 and wh.scalar("SELECT count(*) FROM training_runs") == 0
