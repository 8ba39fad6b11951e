import json

import pytest

from curation.curate import curate
from curation.snapshot import create_snapshot
from generators.parsing import split_reasoning
from warehouse.ids import now
from warehouse.snapshot_spec import SnapshotSpec
from warehouse.snapshots import SnapshotError, content_hash, snapshot_rows


def add_prompt(wh, pid, split="train", reference="5"):
    wh.insert("prompts", [{"prompt_id": pid, "seed_id": f"s-{pid}", "template_id": "t@1", "domain": "math",
                           "split": split, "text": f"question {pid}", "reference": reference, "run_id": "r",
                           "created_at": now()}])


def add_generation(wh, gid, pid, text, passed, finish="stop", tokens=10, extracted="5"):
    reasoning, answer = split_reasoning(text)
    wh.insert("generations", [{"generation_id": gid, "prompt_id": pid, "teacher_id": "t", "sample_index": 0,
                               "raw": text, "reasoning": reasoning, "answer": answer, "finish_reason": finish,
                               "prompt_tokens": 3, "completion_tokens": tokens, "latency_s": 0.1, "cost_usd": 0.0,
                               "run_id": "r", "created_at": now()}])
    wh.insert("verifications", [{"verification_id": f"v-{gid}", "generation_id": gid, "verifier": "math",
                                 "version": "1", "passed": passed, "reason": "correct" if passed else "wrong",
                                 "extracted": extracted, "details": {}, "duration_s": 0.0, "run_id": "r",
                                 "created_at": now()}])


def outcomes(wh):
    kept = {r["generation_id"]: "kept" for r in wh.query("SELECT generation_id FROM curated")}
    dropped = {r["generation_id"]: r["reason"] for r in wh.query("SELECT generation_id, reason FROM rejections")}
    assert not set(kept) & set(dropped), "a generation has exactly one outcome"
    return {**kept, **dropped}


def test_every_generation_gets_one_outcome_with_a_reason(wh):
    add_prompt(wh, "p1")
    add_prompt(wh, "e1", split="eval")
    add_generation(wh, "g-ok", "p1", "2 + 3 = 5\nThe answer is \\boxed{5}.", True, tokens=8)
    add_generation(wh, "g-dup", "p1", "2 + 3 = 5\nthe answer is   \\boxed{5}.", True, tokens=9)
    add_generation(wh, "g-wrong", "p1", "The answer is \\boxed{6}.", False, extracted="6")
    add_generation(wh, "g-cut", "p1", "2 + 3 is", True, finish="length")
    add_generation(wh, "g-eval", "e1", "The answer is \\boxed{5}.", True)
    stats = curate(wh, run_id="r1", max_per_prompt=5)
    assert outcomes(wh) == {"g-ok": "kept", "g-dup": "exact_duplicate", "g-wrong": "not_verified",
                            "g-cut": "truncated", "g-eval": "eval_prompt"}
    assert stats.as_dict() == {"considered": 5, "kept": 1, "rejected": {
        "exact_duplicate": 1, "not_verified": 1, "truncated": 1, "eval_prompt": 1}}
    wrong = wh.query("SELECT details FROM rejections WHERE generation_id = 'g-wrong'")[0]
    assert json.loads(wrong["details"]) == {"verdict": "wrong", "extracted": "6"}


def test_cap_keeps_the_shortest_verified_samples(wh):
    add_prompt(wh, "p1")
    for i, tokens in enumerate([30, 10, 20]):
        add_generation(wh, f"g{i}", "p1", f"step {i}\nThe answer is \\boxed{{5}}.", True, tokens=tokens)
    curate(wh, run_id="r1", max_per_prompt=2)
    assert outcomes(wh) == {"g1": "kept", "g2": "kept", "g0": "per_prompt_cap"}


def test_rerun_only_considers_new_generations_and_dedups_against_kept(wh):
    add_prompt(wh, "p1")
    add_generation(wh, "g1", "p1", "2 + 3 = 5\nThe answer is \\boxed{5}.", True)
    curate(wh, run_id="r1")
    assert curate(wh, run_id="r2").considered == 0
    add_generation(wh, "g2", "p1", "2 + 3 = 5\nThe answer is \\boxed{5}.", True)
    assert curate(wh, run_id="r3").as_dict() == {"considered": 1, "kept": 0, "rejected": {"exact_duplicate": 1}}


@pytest.fixture
def curated_wh(wh, tmp_path):
    for i in range(8):
        add_prompt(wh, f"p{i}")
        add_generation(wh, f"g{i}", f"p{i}", f"{i} + 5 = {i + 5}\nThe answer is \\boxed{{{i + 5}}}.", True,
                       extracted=str(i + 5))
    curate(wh, run_id="r1")
    general = tmp_path / "general.jsonl"
    general.write_text("\n".join(json.dumps({"id": f"gen-{i}", "prompt": f"say {i}", "response": f"{i}"})
                                 for i in range(10)))
    return wh, str(general)


def test_snapshot_mixes_general_rows_at_the_ratio_and_records_everything(curated_wh):
    wh, general = curated_wh
    snap = create_snapshot(wh, SnapshotSpec(name="s1", general=general, general_ratio="1:2", seed=3), run_id="r")
    assert (snap["n_distilled"], snap["n_general"], snap["created"]) == (8, 4, True)
    rows = snapshot_rows(wh, snap["snapshot_id"])
    assert len(rows) == 12 and sum(r["kind"] == "general" for r in rows) == 4
    distilled = [r for r in rows if r["kind"] == "distilled"]
    assert all(r["completion"].endswith(f"The answer is \\boxed{{{int(r['prompt'][-1]) + 5}}}.") for r in distilled)
    assert content_hash(rows) == snap["content_hash"]
    assert json.loads(wh.query("SELECT spec FROM snapshots")[0]["spec"])["general_ratio"] == "1:2"


def test_same_spec_same_data_gives_same_hash_and_names_are_immutable(curated_wh):
    wh, general = curated_wh
    first = create_snapshot(wh, SnapshotSpec(name="s1", general=general, seed=3), run_id="r")
    again = create_snapshot(wh, SnapshotSpec(name="s1", general=general, seed=3), run_id="r")
    assert again["created"] is False and again["content_hash"] == first["content_hash"]
    other = create_snapshot(wh, SnapshotSpec(name="s2", general=general, seed=3), run_id="r")
    assert other["content_hash"] == first["content_hash"]
    with pytest.raises(SnapshotError, match="already exists with different content"):
        create_snapshot(wh, SnapshotSpec(name="s1", general=general, seed=4), run_id="r")
    assert wh.scalar("SELECT count(*) FROM snapshots") == 2


def test_empty_snapshot_is_refused(wh):
    with pytest.raises(SnapshotError, match="no curated rows"):
        create_snapshot(wh, SnapshotSpec(name="s"), run_id="r")
    assert wh.scalar("SELECT count(*) FROM snapshots") == 0
