"""The METRICS registry: accuracy on literal items, and a toy metric added with one registry line."""

from __future__ import annotations

import pytest

from evaluation.config import EvalConfig
from evaluation.contestants import Contestant
from evaluation.evaluate import evaluate
from evaluation.metrics import METRICS, Accuracy, Scored
from generators.teachers import BACKENDS, TeacherConfig
from tests.fakes import ScriptedTeacher
from tests.warehouse.test_curation_and_snapshots import add_prompt

# e0 right and boxed, e1 wrong and boxed; e2 and e3 are unscripted ("I do not know.")
SCRIPT = {"question e0": ["The answer is \\boxed{0}."], "question e1": ["The answer is \\boxed{7}."]}


class Boxed:
    """The toy metric: the share of answers that put their result in \\boxed{}."""

    name = "boxed"

    def compute(self, scored: Scored) -> float | None:
        return sum("\\boxed{" in i["response"] for i in scored.items) / len(scored.items)


def test_accuracy_is_the_share_of_passed_items():
    items = [{"prompt_id": f"p{i}", "response": "r", "passed": passed} for i, passed in
             enumerate([True, False, True, True])]
    assert Accuracy().compute(Scored("base", [], items, None)) == 0.75
    assert Accuracy().compute(Scored("base", [], [], None)) is None, "no items, no accuracy"
    assert list(METRICS)[0] == "accuracy"
    assert all(name == metric.name for name, metric in METRICS.items()), "stored under the name it gives"


@pytest.fixture
def scripted(wh, monkeypatch) -> Contestant:
    """Four eval prompts and a contestant that answers them from SCRIPT, with no model."""
    for i in range(4):
        add_prompt(wh, f"e{i}", split="eval", reference=str(i))
    monkeypatch.setitem(BACKENDS, "scripted", lambda cfg: ScriptedTeacher(cfg, SCRIPT))
    monkeypatch.setattr(ScriptedTeacher, "history", [])
    for name in [n for n in METRICS if n != "accuracy"]:  # these tests register their own beside accuracy
        monkeypatch.delitem(METRICS, name)
    config = TeacherConfig(backend="scripted", model="toy")
    return Contestant("teacher", config, teacher_id=config.teacher_id)


def stored_metrics(wh, evaluation_id: str) -> dict:
    rows = wh.query("SELECT metric, value FROM evaluation_metrics WHERE evaluation_id = ?", [evaluation_id])
    return {r["metric"]: r["value"] for r in rows}


def test_a_new_metric_is_one_class_and_one_registry_line(wh, scripted, monkeypatch):
    monkeypatch.setitem(METRICS, "boxed", Boxed())  # the one line
    [row] = evaluate(wh, [scripted], EvalConfig(), run_id="r")
    assert row["metrics"] == {"accuracy": 0.25, "boxed": 0.5}
    assert row["accuracy"] == 0.25 and row["correct"] == 1 and row["n"] == 4
    assert stored_metrics(wh, row["evaluation_id"]) == {"accuracy": 0.25, "boxed": 0.5}
    assert wh.scalar("SELECT accuracy FROM evaluations WHERE evaluation_id = ?", [row["evaluation_id"]]) == 0.25


def test_a_metric_registered_later_is_computed_from_stored_items(wh, scripted, monkeypatch):
    [first] = evaluate(wh, [scripted], EvalConfig(), run_id="r")
    assert first["metrics"] == {"accuracy": 0.25}
    asked = len(ScriptedTeacher.history)
    monkeypatch.setitem(METRICS, "boxed", Boxed())
    [again] = evaluate(wh, [scripted], EvalConfig(), run_id="r2")
    assert len(ScriptedTeacher.history) == asked, "the stored answers are scored, not asked again"
    assert again["evaluation_id"] == first["evaluation_id"] and again["run_id"] == "r"
    assert again["metrics"] == {"accuracy": 0.25, "boxed": 0.5}
    assert stored_metrics(wh, first["evaluation_id"]) == {"accuracy": 0.25, "boxed": 0.5}
    assert wh.scalar("SELECT count(*) FROM evaluations") == 1


def test_wilson_interval_matches_the_textbook_values():
    from evaluation.metrics.interval import wilson

    low, high = wilson(7, 60)
    # scipy.stats.binomtest(7, 60).proportion_ci(method="wilson") gives 0.05768, 0.22179
    assert (round(low, 4), round(high, 4)) == (0.0577, 0.2218)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(30, 60)[0] < 0.5 < wilson(30, 60)[1]


def test_exact_mcnemar_on_discordant_pairs():
    from evaluation.metrics.compare import mcnemar_exact

    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 0) == 2 / 32  # all five discordant items go one way: 2 * 0.5^5
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(8, 1) == mcnemar_exact(1, 8) == 2 * (1 + 9) / 512  # = scipy binomtest(1, 9).pvalue


def test_student_metrics_compare_it_with_its_peers_on_the_same_items():
    rows = lambda passed: [{"prompt_id": f"p{i}", "passed": p} for i, p in enumerate(passed)]  # noqa: E731
    base = Scored("base", [], rows([True, False, False, False, False, False]), 2.0)
    teacher = Scored("teacher", [], rows([True, True, True, False, True, False]), 3.0)
    student = Scored("student", [], rows([True, True, False, True, True, True]), 1.0,
                     peers={"base": base, "teacher": teacher})
    got = {name: metric.compute(student) for name, metric in METRICS.items()}
    assert got["accuracy"] == 5 / 6 and got["retention"] == (5 / 6) / (4 / 6) and got["speedup"] == 3.0
    assert got["p_vs_base"] == 2 * 1 / 16, "4 items only the student got, none only the base: 2 * 0.5^4"
    assert got["p_vs_teacher"] == 1.0, "2 one way, 1 the other"
    assert got["accuracy_ci_low"] < 5 / 6 < got["accuracy_ci_high"]
    alone = Scored("student", [], student.items, 1.0)
    assert all(METRICS[n].compute(alone) is None for n in ("retention", "speedup", "p_vs_base", "p_vs_teacher"))
    assert METRICS["retention"].compute(Scored("teacher", [], teacher.items, 3.0, peers=student.peers)) is None
