"""Pure parts of problem synthesis (parsing, near-copies, majority labels) and of run budgets."""

from __future__ import annotations

import pytest

from generators.seeds import InputError
from generators.synthesis import jaccard, load_knowledge, majority_label, nearest, parse_problem, shingles
from generators.teachers import Budget, BudgetConfig, Price
from generators.teachers.budget import parse_prices


@pytest.mark.parametrize("text, expected", [
    ("Problem: What is 3 + 4?", "What is 3 + 4?"),
    ("Sure!\n**Problem:** A car goes 60 km in 1.5 hours.\nWhat is its speed?\nAnswer: 40", 
     "A car goes 60 km in 1.5 hours. What is its speed?"),
    ("problem： Solve 2x = 8.", "Solve 2x = 8."),
    ("Here is a nice one: what is 2+2?", None),
    ("Problem: 2+2", None),  # too short to be a problem
])
def test_parse_problem(text, expected):
    assert parse_problem(text) == expected


def test_near_copies_by_word_trigrams_keep_numbers_significant():
    a = shingles("What is 12 + 7?")
    assert jaccard(a, shingles("what is 12 + 7 ?")) == 1.0
    assert jaccard(a, shingles("What is 13 + 7?")) < 0.5, "a different number is a different problem"
    long = "A shop sells 12 red pens and 30 blue pens on Monday. How many pens does it sell?"
    edited = "A shop sells 12 red pens and 30 blue pens on Monday. How many pens did it sell?"
    assert jaccard(shingles(long), shingles(edited)) >= 0.7
    assert nearest(shingles(edited), {"p1": shingles(long), "p2": a}) [0] == "p1"


def test_majority_label_groups_equivalent_answers():
    same = lambda a, b: a.replace(" ", "") == b.replace(" ", "") or {a, b} == {"1/2", "0.5"}  # noqa: E731
    label = majority_label(["1/2", "0.5", "1 / 2", "3", None], same)
    assert (label.votes, label.samples, label.agreement) == (3, 5, 0.6)
    assert label.groups[0]["count"] == 3 and label.accepted(0.6) and not label.accepted(0.75)
    tie = majority_label(["1", "2"], same)
    assert tie.answer is None and not tie.accepted(0.1), "a tie labels nothing"
    assert majority_label([None, None], same).answer is None


def test_knowledge_file_errors_name_the_line(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text("- {id: a, domain: math, topic: sums}\n- {id: b, domain: math}\n")
    with pytest.raises(InputError, match="missing required field") as err:
        load_knowledge(path)
    assert err.value.line == 2


def test_budget_reserves_the_worst_case_and_settles_the_actual_usage():
    budget = Budget(BudgetConfig(max_tokens=100), prices={"m": Price(1.0, 2.0)})
    first = budget.reserve("m", 1, prompt_tokens=20, completion_tokens=40)
    assert first is not None
    assert budget.reserve("m", 1, prompt_tokens=20, completion_tokens=40) is None, "60 held + 60 > 100"
    assert "max_tokens = 100" in budget.stopped
    cost = budget.settle(first, prompt_tokens=18, completion_tokens=10)
    assert cost == pytest.approx((18 * 1.0 + 10 * 2.0) / 1e6)
    assert (budget.requests, budget.tokens) == (1, 28)
    assert budget.reserve("m", 1, 1, 1) is None, "a stopped budget stays stopped"


@pytest.mark.parametrize("raw", [[1, 2], {"m": {"input_per_mtok": 1}}, {"m": {"input_per_mtok": -1,
                                                                                 "output_per_mtok": 1}},
                                 {"m": {"input_per_mtok": "cheap", "output_per_mtok": 1}}])
def test_malformed_price_tables_are_refused(raw):
    with pytest.raises(ValueError):
        parse_prices(raw)
