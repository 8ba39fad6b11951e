"""Forgetting probes on the tiny model: likelihood scoring is exact under padding, and the probes of a model
before and after a few training steps differ, stored per item and compared with the base."""

from __future__ import annotations

import pytest

from evaluation import probes
from evaluation.config import EvalConfig
from evaluation.contestants import Contestant
from evaluation.evaluate import evaluate
from generators.teachers import TeacherConfig
from generators.teachers.hf import load_causal_lm
from tests.warehouse.test_curation_and_snapshots import add_prompt

HELDOUT = "examples/general/heldout.jsonl"


def test_padded_batches_score_each_continuation_as_alone(tiny_model):
    import torch

    model, tok = load_causal_lm(tiny_model)
    pairs = [(tok("Q: Why is the sky blue?\nA:")["input_ids"], tok(" Rayleigh scattering.")["input_ids"]),
             (tok("Hi")["input_ids"], tok(" there, how are you doing today?")["input_ids"]),
             (tok("A long context of several words before a short one")["input_ids"], tok(" end")["input_ids"])]
    batched = probes.continuation_logprobs(model, tok, pairs)
    for (context, cont), got in zip(pairs, batched):
        ids = torch.tensor([context + cont])
        with torch.no_grad():
            logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
        by_hand = sum(logprobs[len(context) + j - 1, t].item() for j, t in enumerate(cont))
        assert got == pytest.approx(by_hand, abs=1e-3)


def test_probe_items_come_from_the_fixtures_in_place():
    truthful = probes.probe_items("truthfulqa", 100, HELDOUT)
    hella = probes.probe_items("hellaswag", 3, HELDOUT)
    assert len(truthful) == 100 and len({i["item_id"] for i in truthful}) == 100
    assert len(hella) == 3 and all(len(i["choices"]) == 4 and 0 <= i["gold"] < 4 for i in hella)
    assert truthful[0]["context"] == "Q: Which blood type makes the best CEOs?\nA:"
    assert len(probes.probe_items("general_nll", None, HELDOUT)) == 20
    with pytest.raises(ValueError, match="eval.general_heldout 'nowhere.jsonl' does not exist"):
        probes.probe_items("general_nll", None, "nowhere.jsonl")


def test_held_out_general_rows_are_not_in_the_training_mix():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "examples" / "general"
    read = lambda name: [json.loads(x) for x in (root / name).read_text().splitlines() if x.strip()]  # noqa: E731
    held, train = read("heldout.jsonl"), read("instructions.jsonl")
    assert len(held) == 20
    assert not {r["id"] for r in held} & {r["id"] for r in train}
    assert not {r["prompt"] for r in held} & {r["prompt"] for r in train}


def train_a_few_steps(model_dir: str, out) -> str:
    """Full fine-tune of the tiny model for a few steps on arithmetic text, saved as a checkpoint."""
    import torch

    model, tok = load_causal_lm(model_dir)
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-2)
    batch = tok(["12 + 30 = 42. The answer is \\boxed{42}.", "7 * 6 = 42. The answer is \\boxed{42}."],
                return_tensors="pt", padding=True)
    for _ in range(5):
        loss = model(**batch, labels=batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


def test_forgetting_before_and_after_a_few_training_steps(wh, tiny_model, tmp_path):
    for i in range(2):
        add_prompt(wh, f"e{i}", split="eval", reference=str(i))
    trained = train_a_few_steps(tiny_model, tmp_path / "trained")
    base = Contestant("base", TeacherConfig(model=tiny_model))
    student = Contestant("student", TeacherConfig(model=trained), training_run_id="tr", method="sft")
    teacher = Contestant("teacher", TeacherConfig(model=tiny_model, few_shot=(("1+1", "2"),)), teacher_id="t")
    cfg = EvalConfig(max_tokens=2, forgetting=True, probe_limit=3)
    rows = {r["role"]: r["metrics"] for r in evaluate(wh, [base, student, teacher], cfg, run_id="r")}
    before, after = rows["base"], rows["student"]
    assert before["general_nll"] > 0 and after["general_nll"] > 0
    assert after["general_nll_delta"] == pytest.approx(after["general_nll"] - before["general_nll"])
    assert abs(after["general_nll_delta"]) > 1e-3, "a few steps of arithmetic move the general NLL"
    assert after["truthfulqa_delta"] == pytest.approx(after["truthfulqa"] - before["truthfulqa"])
    assert after["hellaswag_p_vs_base"] is not None and after["probe_flips_lost"] is not None
    assert before["general_nll_delta"] is None and rows["teacher"]["general_nll"] is None, "base and teacher"
    nll = {(r["role"], r["item_id"]): r["nll"] for r in wh.query(
        "SELECT e.role, p.item_id, p.nll FROM evaluation_probes p JOIN evaluations e USING (evaluation_id) "
        "WHERE p.probe = 'truthfulqa'")}
    assert len(nll) == 6 and all(nll["base", i] != nll["student", i] for _, i in nll), "per item, both models"
    assert wh.scalar("SELECT count(*) FROM evaluation_probes") == 2 * (20 + 3 + 3)
    rows = evaluate(wh, [base, student], EvalConfig(max_tokens=2, forgetting=True, probe_limit=4), run_id="r2")
    assert wh.scalar("SELECT count(*) FROM evaluation_probes") == 2 * (20 + 4 + 4), "only the new items scored"
    assert rows[1]["metrics"]["general_nll"] == after["general_nll"]
