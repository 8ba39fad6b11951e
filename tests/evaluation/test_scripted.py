"""Scripted contestants that answer a known subset of ten prompts: exact accuracy, Wilson interval, McNemar p,
retention, flips and pass@k / maj@k, with two students in one evaluation."""

from __future__ import annotations

from itertools import combinations

import pytest

from evaluation.config import EvalConfig
from evaluation.contestants import Contestant, contestants
from evaluation.evaluate import evaluate
from evaluation.metrics.sampling import pass_at_k
from generators.teachers import BACKENDS, TeacherConfig
from tests.fakes import ScriptedTeacher
from tests.warehouse.test_curation_and_snapshots import add_prompt
from warehouse.ids import now

RIGHT = {"base": {0, 1, 2}, "sft": {0, 1, 2, 3, 4, 5, 6}, "kd": {1, 2, 3, 4, 5, 6, 7, 8, 9},
         "teacher": set(range(9))}


def script(model: str) -> dict[str, list[str]]:
    """Prompt e<i> (reference i) answered right when i is in RIGHT[model], else with 99."""
    return {f"question e{i}": [f"The answer is \\boxed{{{i if i in RIGHT[model] else 99}}}."] for i in range(10)}


SAMPLED = {"question e0": ["\\boxed{0}", "\\boxed{5}", "\\boxed{0}", "\\boxed{5}"],  # 2 of 4; a 2-2 tie, 0 first
           "question e1": ["\\boxed{9}", "\\boxed{9}", "\\boxed{1}", "\\boxed{2}"],  # 1 of 4; the majority is 9
           "question e2": ["I do not know."]}  # none right, nothing to vote for


@pytest.fixture
def scripted(wh, monkeypatch):
    for i in range(10):
        add_prompt(wh, f"e{i}", split="eval", reference=str(i))
    scripts = {m: script(m) for m in RIGHT} | {"sampled": SAMPLED}
    monkeypatch.setitem(BACKENDS, "scripted", lambda cfg: ScriptedTeacher(cfg, scripts[cfg.model]))
    monkeypatch.setattr(ScriptedTeacher, "history", [])


def player(role: str, model: str, run: str | None = None) -> Contestant:
    config = TeacherConfig(backend="scripted", model=model)
    kind = role.split(":")[0]
    return Contestant(role, config, training_run_id=run, method=model if kind == "student" else None,
                      teacher_id=config.teacher_id if kind == "teacher" else None)


PLAYERS = [player("base", "base"), player("student:sft", "sft", "tr-sft"), player("student:kd", "kd", "tr-kd"),
           player("teacher", "teacher")]


def test_two_students_each_against_base_and_teacher(wh, scripted):
    rows = {r["role"]: r for r in evaluate(wh, PLAYERS, EvalConfig(), run_id="r")}
    assert [rows[r]["correct"] for r in ("base", "student:sft", "student:kd", "teacher")] == [3, 7, 9, 9]
    sft, kd, base = rows["student:sft"]["metrics"], rows["student:kd"]["metrics"], rows["base"]["metrics"]
    # scipy.stats.binomtest(k, 10).proportion_ci(method="wilson")
    assert (base["accuracy_ci_low"], base["accuracy_ci_high"]) == pytest.approx((0.107791, 0.603222), abs=1e-6)
    assert (sft["accuracy_ci_low"], sft["accuracy_ci_high"]) == pytest.approx((0.396778, 0.892209), abs=1e-6)
    assert (kd["accuracy_ci_low"], kd["accuracy_ci_high"]) == pytest.approx((0.595850, 0.982124), abs=1e-6)
    assert sft["p_vs_base"] == 0.125, "4 items only sft got, none only base: binomtest(0, 4) = 2 / 16"
    assert kd["p_vs_base"] == 0.0703125, "7 only kd, 1 only base: binomtest(1, 8)"
    assert kd["p_vs_teacher"] == 1.0 and sft["p_vs_teacher"] == 0.5, "kd 1-1; sft 0-2: binomtest(0, 2) = 2 / 4"
    assert sft["retention"] == pytest.approx(0.7 / 0.9) and kd["retention"] == pytest.approx(1.0)
    assert (sft["flips_lost"], sft["flips_gained"]) == (0, 4)
    assert (kd["flips_lost"], kd["flips_gained"]) == (1, 7), "kd loses e0 and gains e3..e9"
    assert sft["speedup"] == 1.0, "every scripted answer takes 1 ms"
    for role in ("base", "teacher"):
        assert all(rows[role]["metrics"][m] is None for m in ("retention", "p_vs_base", "flips_lost")), role
    assert all(rows[r]["metrics"]["pass@1"] is None for r in rows), "no samples asked for"
    stored = {r["evaluation_id"]: r["role"] for r in wh.query("SELECT evaluation_id, role FROM evaluations")}
    assert sorted(stored.values()) == ["base", "student", "student", "teacher"], "the warehouse keeps the kind"
    details = wh.query("SELECT details->>'method' AS m FROM evaluations WHERE role = 'student' ORDER BY m")
    assert [d["m"] for d in details] == ["kd", "sft"]


def test_a_student_evaluated_alone_is_reused_beside_another(wh, scripted):
    [_, alone] = evaluate(wh, [player("base", "base"), player("student", "sft", "tr-sft")], EvalConfig(), "r1")
    asked = len(ScriptedTeacher.history)
    rows = {r["role"]: r for r in evaluate(wh, PLAYERS, EvalConfig(), "r2")}
    assert rows["student:sft"]["evaluation_id"] == alone["evaluation_id"] and rows["student:sft"]["run_id"] == "r1"
    assert len(ScriptedTeacher.history) == asked + 20, "only kd and the teacher answer (10 prompts each)"
    assert rows["student:sft"]["metrics"]["retention"] == pytest.approx(0.7 / 0.9), "computed with the new peer"


def test_pass_at_k_and_majority_from_samples(wh, scripted):
    base = player("base", "sampled")
    [row] = evaluate(wh, [base], EvalConfig(samples=4, limit=3), run_id="r")
    m = row["metrics"]
    assert m["pass@1"] == pytest.approx((2 / 4 + 1 / 4 + 0) / 3)
    assert m["pass@n"] == pytest.approx(2 / 3), "e0 and e1 have a right sample"
    assert m["maj@n"] == pytest.approx(1 / 3), "e0's tie goes to the first-sampled 0; e1's majority is 9"
    assert wh.scalar("SELECT count(*) FROM evaluation_samples") == 12
    asked = len(ScriptedTeacher.history)
    [again] = evaluate(wh, [base], EvalConfig(samples=6, limit=3), run_id="r2")
    assert len(ScriptedTeacher.history) == asked + 6, "two more samples per prompt, nothing asked again"
    assert again["metrics"]["pass@1"] == pytest.approx((3 / 6 + 1 / 6 + 0) / 3), "samples 4, 5 repeat 0, 1"


def test_unbiased_pass_at_k_equals_counting_every_draw():
    for n, c in [(5, 2), (6, 0), (6, 6), (7, 3)]:
        for k in range(1, n + 1):
            draws = list(combinations([True] * c + [False] * (n - c), k))
            assert pass_at_k(n, c, k) == pytest.approx(sum(any(d) for d in draws) / len(draws)), (n, c, k)
    with pytest.raises(ValueError, match="0 < k <= n"):
        pass_at_k(4, 1, 5)


def test_several_training_runs_give_distinct_readable_roles(wh):
    def run(run_id: str, method: str | None) -> dict:
        config = '{"lora": true' + (f', "method": "{method}"' if method else "") + "}"
        return {"training_run_id": run_id, "snapshot_id": "s", "base_model": "m", "config": config,
                "output_dir": f"runs/{run_id}", "status": "completed", "run_id": "r", "started_at": now()}

    wh.insert("training_runs", [run("aaaaaaaa1", "sft"), run("bbbbbbbb2", "kd"), run("cccccccc3", None)])
    assert [p.role for p in contestants(wh, "aaaaaaaa1", None, "m")] == ["base", "student"]
    teacher = TeacherConfig(model="t")
    roles = [p.role for p in contestants(wh, ["aaaaaaaa1", "bbbbbbbb2"], teacher, "m")]
    assert roles == ["base", "student:sft", "student:kd", "teacher"]
    roles = [p.role for p in contestants(wh, ["aaaaaaaa1", "bbbbbbbb2", "cccccccc3"], None, "m")]
    assert roles == ["base", "student:sft:aaaaaaaa", "student:kd", "student:sft:cccccccc"], \
        "a run recorded before methods is sft; a repeated method adds the run id's prefix"
    with pytest.raises(ValueError, match="name one run twice"):
        contestants(wh, ["aaaaaaaa1", "aaaaaaaa1"], None, "m")


def test_answering_and_sampling_report_progress(wh, scripted):
    from contextlib import contextmanager

    seen: list[tuple[str, int, int]] = []  # (label, total, advanced)

    @contextmanager
    def progress(label: str, total: int):
        seen.append((label, total, 0))

        def advance(n: int, **figures) -> None:
            label_, total_, done = seen[-1]
            seen[-1] = (label_, total_, done + n)
            assert figures["tokens"] > 0, "tokens so far, for a tokens/s rate"

        yield advance

    evaluate(wh, [player("base", "sampled")], EvalConfig(samples=2, limit=3, batch_size=2), "r", progress=progress)
    assert seen == [("eval base (sampled)", 3, 3), ("sample base (sampled)", 6, 6)]
