"""math-verify's own test suite as data, and the classes of answers it taught us to read.

`bench/data/math_verify_suite.jsonl` holds every (gold, prediction, expected)
comparison of github.com/huggingface/Math-Verify's tests (270). Cases whose label
math-verify itself gives only with the non-default options its test passes
(``options_decide``) are scored apart; the agreement bar is on the others, with
our default options. Everything goes through `verify_batch` (the worker pool).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifiers.base import Verdict
from verifiers.math import MathVerifier
from verifiers.math.library import available

SUITE_PATH = Path(__file__).resolve().parents[2] / "bench/data/math_verify_suite.jsonl"
SUITE = [json.loads(line) for line in SUITE_PATH.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]

pytestmark = pytest.mark.skipif(not available(), reason="math-verify is not installed (pip install math-verify==0.9.0)")


@pytest.fixture(scope="module")
def verifier() -> MathVerifier:
    return MathVerifier(timeout_s=10.0, workers=2)


@pytest.fixture(scope="module")
def suite_verdicts(verifier: MathVerifier) -> list[Verdict]:
    return verifier.verify_batch([(c["prediction"], c["gold"]) for c in SUITE])


def _judge(verifier: MathVerifier, pairs: list[tuple[str, str]]) -> list[bool]:
    return [v.passed for v in verifier.verify_batch(pairs)]


def test_suite_file_shape() -> None:
    assert len(SUITE) == 270
    for c in SUITE:
        assert {"gold", "prediction", "expected", "source", "test", "commit", "options", "options_decide"} <= set(c)
    assert sum(c["options_decide"] for c in SUITE) == 7


def test_suite_agreement_with_default_options(suite_verdicts: list[Verdict]) -> None:
    scored = [(c, v) for c, v in zip(SUITE, suite_verdicts) if not c["options_decide"]]
    agree = sum(v.passed == c["expected"] for c, v in scored)
    false_pos = [c for c, v in scored if v.passed and not c["expected"]]
    misses = [f"{c['test']}: {c['prediction'][-60:]!r} vs {c['gold'][-60:]!r} -> {v.reason}"
              for c, v in scored if v.passed != c["expected"]]
    assert not false_pos, false_pos
    assert agree / len(scored) >= 0.975, f"{agree}/{len(scored)}\n" + "\n".join(misses)
    assert not [v for v in suite_verdicts if v.reason == "timeout"]


def test_several_boxes_and_prose(verifier: MathVerifier) -> None:
    pairs = [
        (r"$$\boxed{(2, 2)} \quad\text{and}\quad \boxed{(6, 2)}$$", "$$(2, 2), (6, 2)$$"),
        (r"\boxed{1},\boxed{2},\boxed{3}", "$${1,2,3}$$"),
        ("Final Answer: The largest $n$ is 34.", "$34$"),
        ("Therefore, the probability that Alice wins the game is 2/3.", "$2/3$"),
        (r"The identity matrix is $ \begin{pmatrix}1 & 0 \\ 0 & 1\end{pmatrix} $.",
         r"$\begin{pmatrix}1 & 0 \\ 0 & 1\end{pmatrix}$"),
        (r"Therefore $x \geq 5$ is the solution.", "$x >= 5$"),
    ]
    assert _judge(verifier, pairs) == [True] * len(pairs)
    wrong = [(r"$$\boxed{(2, 2)} \quad\text{and}\quad \boxed{(6, 3)}$$", "$$(2, 2), (6, 2)$$"),
             ("Therefore, the probability that Alice wins the game is 1/3.", "$2/3$")]
    assert _judge(verifier, wrong) == [False, False]


def test_labelled_equation_references(verifier: MathVerifier) -> None:
    pairs = [("$\\boxed{(3, 2)}$", "$(p,q)=(3,2)$"), ("$$1$$", "$$|AB|=1$$"), ("$11:21$", "$V_{1}:V_{2}=11:21$")]
    assert _judge(verifier, pairs) == [True, True, True]
    assert _judge(verifier, [("$\\boxed{(3, 1)}$", "$(p,q)=(3,2)$"), ("$0$", "$a +3z = 0$")]) == [False, False]


def test_fixed_false_positive_equation_with_number_on_the_left(verifier: MathVerifier) -> None:
    """`7 = 11a+c` is an equation in a and c: neither its right side nor 7 is the answer."""
    v_rhs, v_seven = verifier.verify_batch([("$11a+c$", "$7 = 11a+c$"), (r"\boxed{7}", "$7 = 11a+c$")])
    assert not v_rhs.passed and not v_seven.passed, (v_rhs, v_seven)


def test_digit_grouping_relations_text_tuples_and_pm(verifier: MathVerifier) -> None:
    pairs = [
        ("1 000", "1000"),
        (r"is $\boxed{11,\! 111,\! 111,\! 100}$", r"So the answer is: \[ \boxed{11111111100} \]"),
        ("$-x > -1$", "$x < 1$"),
        ("$-x >= -1$", "$x <= 1$"),
        ("$odd$", r"$\text{odd}$"),
        (r"\boxed{(4, 0, 6), (4, -2, 6), (0, 0, 6), (0, -2, 6), (4, 0, 0), (4, -2, 0), (0, 0, 0), (0, -2, 0)}",
         "$(0;0;0),(0;-2;0),(0;0;6),(0;-2;6),(4;0;0),(4;-2;0),(4;0;6),(4;-2;6)$"),
        ("${-2021, 2021}$", r"$\pm 2021$"),
    ]
    assert _judge(verifier, pairs) == [True] * len(pairs)
    wrong = [("1 001", "1000"), ("$-x > -2$", "$x < 1$"), ("$even$", r"$\text{odd}$"), ("$2021$", r"$\pm 2021$")]
    assert _judge(verifier, wrong) == [False] * len(wrong)


def test_match_method_says_which_path_decided(verifier: MathVerifier) -> None:
    lib, ours = verifier.verify_batch([("Final Answer: The largest $n$ is 34.", "$34$"), (r"\boxed{34}", "34")])
    assert lib.details["match_method"] == "math_verify" and "ladder_match_method" in lib.details
    assert ours.details["match_method"] == "string"


def test_traps_stay_with_our_ladder(verifier: MathVerifier) -> None:
    """Where math-verify alone says equal, our stricter ladder keeps its verdict."""
    traps = [("1-1/e", "1+1/e"), (r"\boxed{10\%}", "0.1"), (r"\boxed{\log 100}", "2"), ("y = 3", "x = 3"),
             (r"\boxed{\{1,2\}}", "(1,2)"), (r"\boxed{5\text{ million}}", "5"), ("Final answer: 3 squared", "3"),
             (r"\boxed{(x, y) = (1, 2)}", "(1, 2)"), ("0.3333", "1/3"), (r"\boxed{12 \mathrm{e}}", "12")]
    assert _judge(verifier, traps) == [False] * len(traps)


def test_decimal_options() -> None:
    strict = MathVerifier(timeout_s=10.0, workers=1)
    loose = MathVerifier(timeout_s=10.0, workers=1, decimal_approx=True)
    pairs = [("$0.0833333333333333$", r"$\frac{1}{12}$"), (r"$\sqrt{17}$", "4.123105625617661"), ("0.5", "1/2")]
    assert _judge(strict, pairs) == [False, False, True]
    assert _judge(loose, pairs) == [True, True, True]
    comma = [("1000,99", "1000.99"), ("1.22", "1,22"), ("0.111", "0,111")]
    assert _judge(strict, comma) == [True, True, True]
    assert _judge(MathVerifier(timeout_s=10.0, workers=1, decimal_comma=False), comma) == [False, False, False]
