"""Retention and accuracy per task dimension: a family metric stored as one value per group."""

from evaluation.metrics import compute_metrics, ordered
from evaluation.metrics.base import Scored

PROMPTS = [{"prompt_id": f"p{i}", "domain": "math", "topic": "fractions" if i < 4 else "arithmetic"}
           for i in range(10)]


def _scored(role, right, **kw):
    items = [{"prompt_id": p["prompt_id"], "passed": i in right} for i, p in enumerate(PROMPTS)]
    return Scored(role, PROMPTS, items, 1.0, **kw)


def test_retention_per_topic_is_student_over_teacher_accuracy_within_the_topic():
    teacher = _scored("teacher", {0, 1, 4, 5, 6, 7})  # fractions 2/4, arithmetic 4/6
    student = _scored("student:kd", {0, 4, 5, 6, 7, 8}, tokens_per_s=250.0)  # fractions 1/4, arithmetic 5/6
    student = Scored(**{**student.__dict__, "peers": {"teacher": teacher}})
    values = compute_metrics(student)
    assert values["retention_by_topic:fractions"] == 0.5
    assert values["retention_by_topic:arithmetic"] == (5 / 6) / (4 / 6)
    assert values["accuracy_by_topic:fractions"] == 0.25 and values["accuracy_by_topic:arithmetic"] == 5 / 6
    assert values["retention_by_domain"] is None and not any(k.startswith("retention_by_domain:") for k in values), \
        "one domain only: nothing to break down"
    assert "retention_by_domain" not in ordered(values), "a family with no groups is not listed"
    assert values["tokens_per_s"] == 250.0
    assert list(ordered(values)).index("retention_by_topic:arithmetic") < \
        list(ordered(values)).index("retention_by_topic:fractions")


def test_a_topic_the_teacher_never_gets_right_has_no_retention_and_teachers_have_none():
    teacher = _scored("teacher", {4})
    student = Scored(**{**_scored("student", {0, 4}).__dict__, "peers": {"teacher": teacher}})
    values = compute_metrics(student)
    assert values["retention_by_topic:fractions"] is None and values["retention_by_topic:arithmetic"] == 1.0
    assert not any(k.startswith("retention_by_topic:") for k in compute_metrics(teacher))
