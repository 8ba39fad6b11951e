"""Tests for verifiers.math: a labelled case file plus one property per test.

Everything that judges answers goes through `verify_batch`, i.e. through the
killable worker processes, exactly as production code does.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from verifiers.base import Verdict
from verifiers.math import MathVerifier, _get_pool, answers_equivalent, extract_answer

CASES_PATH = Path(__file__).with_name("math_cases.jsonl")
CASES = [json.loads(line) for line in CASES_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
REASONS = {"correct", "wrong", "no_answer", "unparseable", "timeout"}

# passes every guard, then spends tens of seconds inside sympy (integer root of a
# 5,700-digit number): the hard timeout is the only thing that stops it
SYMPY_HANG = r"\boxed{\sqrt{2000!+1}}"


@pytest.fixture(scope="module")
def verifier() -> MathVerifier:
    return MathVerifier(timeout_s=5.0, workers=2)


@pytest.fixture(scope="module")
def case_verdicts(verifier: MathVerifier) -> list[Verdict]:
    pairs = [(c["prediction"], c["reference"]) for c in CASES]
    return verifier.verify_batch(pairs, timeout_s=10.0, workers=2)


# ---------------------------------------------------------------- case file


def test_case_file_shape() -> None:
    assert len(CASES) >= 300
    for c in CASES:
        assert set(c) == {"prediction", "reference", "expected", "note"}, c
        assert isinstance(c["expected"], bool) and c["note"]
    hand = [c for c in CASES if not c["note"].startswith("gen:")]
    assert len({(c["prediction"], c["reference"]) for c in hand}) >= 150
    assert len({(c["prediction"], c["reference"]) for c in CASES}) == len(CASES), "duplicate case"
    labelled = {(c["prediction"], c["reference"]): c["expected"] for c in CASES}
    required = {
        ("1-1/e", "1+1/e"): False,
        ("x \\in [1, 2)", "[1,2]"): False,
        ("2\\sqrt{2}", "\\sqrt{9}"): False,
        ("0.3333", "1/3"): False,
        ("\\frac{1}{2}", "2"): False,
        ("**73**", "73"): True,
        ("0.5", "\\frac{1}{2}"): True,
        ("-0", "0"): True,
        ("2\\sqrt{2}", "\\sqrt{8}"): True,
        ("1,234", "1234"): True,
        ("\\boxed{\\frac{3}{4}}", "3/4"): True,
        ("x = 3", "3"): True,
        ("x=2 or x=3", "\\{2, 3\\}"): True,
    }
    for pair, expected in required.items():
        assert labelled.get(pair) is expected, pair


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{i:03d}" for i in range(len(CASES))])
def test_case(i: int, case_verdicts: list[Verdict]) -> None:
    c, v = CASES[i], case_verdicts[i]
    assert v.passed == c["expected"], (
        f"{c['note']}: {c['prediction']!r} vs {c['reference']!r} -> {v.reason} "
        f"extracted={v.extracted!r} details={v.details}"
    )


def test_all_cases_agree(case_verdicts: list[Verdict]) -> None:
    failing = [
        f"{c['note']} ({v.reason}, extracted={v.extracted!r})"
        for c, v in zip(CASES, case_verdicts)
        if v.passed != c["expected"]
    ]
    assert not failing, "failing cases:\n" + "\n".join(failing)


def test_verdict_shape(case_verdicts: list[Verdict]) -> None:
    assert len(case_verdicts) == len(CASES)
    for v in case_verdicts:
        assert isinstance(v, Verdict)
        assert v.verifier == "math" and v.version == "2"
        assert v.reason in REASONS
        assert v.passed == (v.reason == "correct")
        assert "extract_method" in v.details and "match_method" in v.details
    assert not [v for v in case_verdicts if v.reason == "timeout"], "no shipped case may time out"


# ---------------------------------------------------------------- properties


def test_nested_boxed_last_wins(verifier: MathVerifier) -> None:
    text = (
        r"First \boxed{\frac{1}{\sqrt{4}}} is wrong; fixing it gives "
        r"\boxed{\frac{\sqrt{3}}{\left(2+\frac{1}{2}\right)}} and finally \boxed{\boxed{\frac{3}{4}}}."
    )
    assert extract_answer(text) == (r"\frac{3}{4}", "boxed")
    assert extract_answer(r"\boxed{a^{b_{c}}} then \boxed{x^{\frac{1}{2}}}") == (r"x^{\frac{1}{2}}", "boxed")
    right, wrong = verifier.verify_batch([(text, "0.75"), (text, "1/2")])
    assert right.reason == "correct" and right.details["extract_method"] == "boxed"
    assert wrong.reason == "wrong"


def test_last_number_fallback_is_recorded(verifier: MathVerifier) -> None:
    text = "We have 3 bags with 4 apples each, so there are 12 apples"
    assert extract_answer(text) == ("12", "last_number")
    v = verifier.verify(text, "12")
    assert v.passed and v.reason == "correct"
    assert v.details["extract_method"] == "last_number"


def test_extraction_methods() -> None:
    assert extract_answer("so the final answer is 7.") == ("7", "final_answer_phrase")
    assert extract_answer("Answer: $\\frac{2}{3}$") == ("\\frac{2}{3}", "final_answer_phrase")
    assert extract_answer("The sum is **42**") == ("42", "bold")
    assert extract_answer("x = -2") == ("x = -2", "bare")
    assert extract_answer("\\fbox{5}") == ("5", "boxed")
    assert extract_answer("nothing to see") == (None, "none")


def test_no_answer(verifier: MathVerifier) -> None:
    for text in ["", "   ", "I am not sure how to solve this.", "\\boxed{}"]:
        v = verifier.verify(text, "5")
        assert v.reason == "no_answer" and not v.passed, (text, v)
        assert v.extracted is None and v.details["extract_method"] == "none"


def test_match_methods() -> None:
    expected = {
        ("7", " 7 "): "string",
        ("0.5", "1/2"): "rational",
        ("\\sqrt{3}+\\sqrt{2}", "\\sqrt{5+2\\sqrt{6}}"): "numeric",
        ("2\\sqrt{2}", "\\sqrt{8}"): "symbolic",
        ("x=2 or x=3", "\\{3, 2\\}"): "set",
        ("[1, 2)", "[1, 2]"): "interval",
        ("(1, 2)", "(2, 1)"): "tuple",
        ("y = 2x+1", "2x - y + 1 = 0"): "equation",
    }
    for (pred, ref), method in expected.items():
        assert answers_equivalent(pred, ref)[1] == method, (pred, ref, answers_equivalent(pred, ref))


def test_pathological_input_is_bounded_and_pool_survives(verifier: MathVerifier) -> None:
    t0 = time.monotonic()
    tower, huge_fact, after = verifier.verify_batch(
        [
            (r"\boxed{2^{2^{2^{2^{100}}}}}", "3"),
            (r"\boxed{(10^{10})!}", "3"),
            (r"\boxed{4}", "4"),
        ],
        timeout_s=3.0,
    )
    assert time.monotonic() - t0 < 6.0
    assert tower.reason in {"unparseable", "timeout"} and huge_fact.reason in {"unparseable", "timeout"}
    assert after.reason == "correct"
    assert verifier.verify(r"\boxed{\frac{1}{2}}", "0.5").reason == "correct"


def test_sympy_hang_times_out_and_worker_is_replaced(verifier: MathVerifier) -> None:
    verifier.verify("1", "1")  # make sure the pool is warm
    before = set(_get_pool().pids())
    t0 = time.monotonic()
    hang, ok1, ok2 = verifier.verify_batch(
        [(SYMPY_HANG, "3"), (r"\boxed{6}", "6"), (r"\boxed{7}", "8")], timeout_s=1.0, workers=2
    )
    elapsed = time.monotonic() - t0
    assert hang.reason == "timeout" and not hang.passed, hang
    assert hang.details["match_method"] == "timeout"
    assert ok1.reason == "correct" and ok2.reason == "wrong"  # only the hung item is affected
    assert elapsed < 8.0
    after = set(_get_pool().pids())
    assert len(before - after) == 1, "exactly the hung worker was replaced"
    assert verifier.verify(r"\boxed{x^2-1}", "(x-1)(x+1)").reason == "correct"


def test_worker_killed_mid_check_is_replaced(verifier: MathVerifier) -> None:
    verifier.verify("1", "1")
    pool = _get_pool()
    out: list[list[Verdict]] = []
    t = threading.Thread(
        target=lambda: out.append(
            verifier.verify_batch([(SYMPY_HANG, "3"), (r"\boxed{9}", "9")], timeout_s=60.0, workers=1)
        )
    )
    t.start()
    deadline = time.monotonic() + 10.0
    while not pool.busy_pids() and time.monotonic() < deadline:
        time.sleep(0.02)
    busy = pool.busy_pids()
    assert busy, "the hanging check never started"
    time.sleep(0.3)  # well inside sympy by now
    os.kill(busy[0], signal.SIGKILL)
    t.join(20.0)
    assert not t.is_alive(), "verify_batch did not notice the dead worker"
    killed, fine = out[0]
    assert killed.reason == "timeout" and killed.details["match_method"] == "crashed", killed
    assert fine.reason == "correct"
    assert busy[0] not in pool.pids()
    assert verifier.verify(r"\boxed{2\sqrt{2}}", "\\sqrt{8}").reason == "correct"


def test_concurrent_callers_share_the_pool(verifier: MathVerifier) -> None:
    results: dict[int, list[Verdict]] = {}

    def run(k: int) -> None:
        results[k] = verifier.verify_batch([(f"\\boxed{{{k * 10 + j}}}", str(k * 10 + j)) for j in range(20)])

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30.0)
    assert sorted(results) == [0, 1, 2]
    assert all(v.reason == "correct" for vs in results.values() for v in vs)


def test_batch_uses_the_verifiers_own_timeout_by_default() -> None:
    t0 = time.monotonic()
    [hang] = MathVerifier(timeout_s=1.0, workers=1).verify_batch([(SYMPY_HANG, "3")])
    assert hang.reason == "timeout"
    assert time.monotonic() - t0 < 5.0, "the 1 s budget given to the verifier applies, not the 5 s default"


def test_reference_affinity_in_dispatch() -> None:
    """An idle worker takes the next item with the reference it checked last (its parse is cached
    there), else one whose reference no busy worker is on, else the head of the queue."""
    from collections import deque
    from types import SimpleNamespace

    from verifiers.math.pool import _Batch

    batch = _Batch.__new__(_Batch)
    batch.pairs = [("a", "R1"), ("b", "R1"), ("c", "R2"), ("d", "R1"), ("e", "R3")]
    batch.queue = deque(range(len(batch.pairs)))
    a = SimpleNamespace(reference="R1", job=None)
    b = SimpleNamespace(reference="R9", job=0)  # busy on an item of R1
    batch.ws = [a, b]
    b.reference = "R1"
    a.reference = "R2"
    assert batch._next_item(a) == 2  # its own reference, past two R1 items
    a.reference = "R7"
    assert batch._next_item(a) == 4  # no R7 left: R1 is with the busy worker, so R3
    assert batch._next_item(a) == 0  # only R1 left: the head, nothing waits
    assert list(batch.queue) == [1, 3]
