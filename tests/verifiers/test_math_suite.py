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


# Every suite case where our default verdict differs from the label, and why (bench/README.md,
# "Math verifier vs math-verify"): (gold, prediction) -> the label's class.
POLICY_MISSES = {
    # labelled false only under latex-only extraction (options_decide); the response does answer 9
    ("$9$", "Answer $ \n 9 \n $"): "extraction option",
    ("$9$", "Answer \\( \n 9 \n \\)"): "extraction option",
    # decimal approximations: decimal_approx=False (math_cases.jsonl lines 4, 115, 120-121, 326)
    ("$\\frac{1}{3}$", "0.3333$"): "decimal approximation",
    ("$\\frac{1}{12}$", "$0.0833333333333333$"): "decimal approximation",
    ("$(\\begin{pmatrix}\\frac{1}{3}\\\\ \\frac{1}{5} \\end{pmatrix})$", "$\\begin{pmatrix}0.33\\\\0.2 \\end{pmatrix}$"):
        "decimal approximation",
    ("$(\\frac{3}{5},\\frac{8}{3}]$", "$(0.6,2.6667]$"): "decimal approximation",
    ("4.123105625617661", "$\\sqrt{17}$"): "decimal approximation",
    # the same pair is in the suite twice with opposite labels (allow_set_relation_comp True/False):
    # both are the same set of x, we say equal, the False one is a miss
    ("$x \\in [-2,7]$", "$-2 \\\\le x \\\\le 7$"): "label conflict in the suite",
    # likewise labelled False (strict) and True (strict=False): f(y) is not f(x), the True one is a miss
    ("$f(x)$", "$f(y)$"): "label conflict in the suite",
    # labelled equal upstream; our trap math_cases.jsonl line 1 (1-1/e vs 1+1/e) says they differ
    ("$1 - \\frac{1}{\\mathrm{e}}$", "$1 + \\frac{1}{\\mathrm{e}}$"): "trap",
}
SELF_CONFLICTING = {k for k, why in POLICY_MISSES.items() if why == "label conflict in the suite"}


def test_suite_agreement_with_default_options(suite_verdicts: list[Verdict]) -> None:
    """All 270 cases with default options: the misses are exactly `POLICY_MISSES` (260/270), and
    on the 263 cases whose label math-verify's default call gives, >= 97.5% agreement and no
    false positive except on a pair the suite labels both ways."""
    missed = [(c["gold"], c["prediction"]) for c, v in zip(SUITE, suite_verdicts) if v.passed != c["expected"]]
    assert sorted(missed) == sorted(POLICY_MISSES), set(missed) ^ set(POLICY_MISSES)
    assert not [v for v in suite_verdicts if v.reason == "timeout"]
    scored = [(c, v) for c, v in zip(SUITE, suite_verdicts) if not c["options_decide"]]
    agree = sum(v.passed == c["expected"] for c, v in scored)
    false_pos = [c for c, v in scored if v.passed and not c["expected"] and (c["gold"], c["prediction"]) not in
                 SELF_CONFLICTING]
    assert not false_pos, false_pos
    assert agree / len(scored) >= 0.975, f"{agree}/{len(scored)}"
    for gold, prediction in SELF_CONFLICTING:  # one verdict per pair, whatever the options were
        assert len({v.passed for c, v in zip(SUITE, suite_verdicts) if (c["gold"], c["prediction"]) == (gold, prediction)}) == 1


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
             ("0.3333", "1/3"), (r"\boxed{12 \mathrm{e}}", "12")]
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


def test_set_and_relation_with_a_doubled_backslash(verifier: MathVerifier) -> None:
    """`x \\in [-2,7]` and `-2 \\\\le x \\\\le 7` (the backslash doubled, as the suite's test writes it)
    are the same set of x, in either role. (The suite labels the reference-as-set direction
    true only under allow_set_relation_comp=True and false under its default: one of the two
    identical cases is a miss whatever the verdict.)"""
    pairs = [(r"$-2 \\le x \\le 7$", r"$x \in [-2,7]$"), (r"$x \in [-2,7]$", r"$-2 \\le x \\le 7$"),
             (r"$-2 \\leq x < 7$", r"$x \in [-2,7)$")]
    assert _judge(verifier, pairs) == [True] * len(pairs)
    wrong = [(r"$-2 \\le x \\le 8$", r"$x \in [-2,7]$"), (r"$-2 \\le x < 7$", r"$x \in [-2,7]$"),
             (r"$x \in [-2,7]$", r"$-2 \\ge x \\ge 7$")]
    assert _judge(verifier, wrong) == [False] * len(wrong)


def test_labelled_answer_and_prose_tuple(verifier: MathVerifier) -> None:
    """The two former "known gap" labels of math_cases.jsonl, with their wrong twins."""
    pairs = [(r"\boxed{(x, y) = (1, 2)}", "(1, 2)"), ("The point is (3, 4)", "(3, 4)"),
             ("So the interval is [0, 1).", "[0, 1)")]
    assert _judge(verifier, pairs) == [True] * len(pairs)
    wrong = [(r"\boxed{(x, y) = (1, 3)}", "(1, 2)"), ("The point is (3, 5)", "(3, 4)"),
             (r"\boxed{x + y = 3}", "3"), ("So the interval is [0, 1].", "[0, 1)"),
             (r"\boxed{2x = 6}", "6"), (r"\boxed{\sqrt{x} = 3}", "3"), (r"\boxed{(x, y) = (1, 2)}", "(1, 2, 3)")]
    assert _judge(verifier, wrong) == [False] * len(wrong)


def test_two_stage_parsing_gives_the_ll_parse() -> None:
    """SLL-first parsing (LL again on a syntax error) returns what latex2sympy's own LL parse
    returns, on forms that pass SLL and on forms that need the LL stage."""
    from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy, latex2sympy

    from verifiers.math import library

    assert library._lib() is not None and _Latex2Sympy._distillery_two_stage
    texts = [r"\frac{1}{2}+\sqrt{3}", r"(1, \frac{\pi}{2})", r"x \in [-2,7]", r"-2 \le x \le 7",
             r"\begin{pmatrix}1 & 2 \\ 3 & 4\end{pmatrix}", r"\{1, 2\} \cup (3, 4]",
             r"x_{1}=10^{\frac{-5+\sqrt{13}}{6}},\quad x_{2}=1", r"F_n = \sum_{k=0}^{n-1} F_k F_{n-k-1}",
             r"y_{1}=-2 x^{2}+4 x+3, y_{2}=3 x^{2}+12 x+10"]
    two_stage = [str(latex2sympy(t)) for t in texts]
    saved = _Latex2Sympy.create_parser, _Latex2Sympy.parse
    try:
        _Latex2Sympy.create_parser, _Latex2Sympy.parse = _Latex2Sympy._distillery_ll_methods
        ll_only = [str(latex2sympy(t)) for t in texts]
    finally:
        _Latex2Sympy.create_parser, _Latex2Sympy.parse = saved
    assert two_stage == ll_only


def test_reference_parse_is_cached() -> None:
    from verifiers.math import library

    library.parse_reference.cache_clear()
    a = library.parse_reference(r"\frac{3}{4}")
    b = library.parse_reference(r"\frac{3}{4}")
    assert a is b and library.parse_reference.cache_info().hits == 1
    assert library.library_equal(r"$\boxed{0.75}$", r"\frac{3}{4}", False, True)[0] is True
    assert library.library_equal(r"$\boxed{0.7}$", r"\frac{3}{4}", False, True)[0] is False


def test_warm_up_corpus_is_generic() -> None:
    """The worker warm-up parses its own generic forms, none taken from the suite or the labelled set."""
    from verifiers.math import library

    labelled_path = Path(__file__).with_name("math_cases.jsonl")
    labelled = [json.loads(line) for line in labelled_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    benchmark = {c[k] for c in SUITE for k in ("gold", "prediction")}
    benchmark |= {c[k] for c in labelled for k in ("prediction", "reference")}
    ours = set(library.WARM_UP_TEXTS) | {t for pair in library.WARM_UP_PAIRS for t in pair}
    ours |= {t.strip("$") for t in ours}
    assert not ours & benchmark, ours & benchmark
    library.warm_up()


def test_several_boxes_joined_by_connectors_are_read_by_our_ladder(verifier: MathVerifier) -> None:
    """Boxes joined only by connectors are one list for our ladder, in the response and in the
    reference, so its `correct` needs no library call; prose between boxes, or a list that
    differs, is not settled by it; one box of a reference's list is not the reference."""
    from verifiers.math.extract import boxed_list

    assert boxed_list(r"$$\boxed{(2, 2)} \quad\text{and}\quad \boxed{(6, 2)}$$") == "(2, 2), (6, 2)"
    assert boxed_list(r"\(\boxed{1}\) and \(\boxed{-2}\).") == "1, -2"
    assert boxed_list(r"\boxed{1} no no \boxed{2}") is None and boxed_list(r"\boxed{3}") is None
    listed = verifier.verify_batch([
        (r"$$\boxed{(2, 2)} \quad\text{and}\quad \boxed{(6, 2)}$$", "$$(2, 2), (6, 2)$$"),
        (r"\boxed{10^{\frac{\sqrt{13} - 5}{6}}} \quad \text{and} \quad \boxed{10^{-\frac{5 + \sqrt{13}}{6}}}",
         r"$x_{1}=10^{\frac{-5+\sqrt{13}}{6}},\quad x_{2}=10^{\frac{-5-\sqrt{13}}{6}}$"),
    ])
    assert all(v.passed and v.details.get("boxes_read_as_list") for v in listed), listed
    reference_list = verifier.verify("$$2, 3, 5, 7$$", r"$$\boxed{2}, \boxed{3}, \boxed{5}, \boxed{7}$$")
    assert reference_list.passed and reference_list.details["match_method"] == "string", reference_list
    wrong = [(r"\boxed{(2, 2)} \quad\text{and}\quad \boxed{(6, 3)}", "$$(2, 2), (6, 2)$$"),
             (r"\boxed{2} or \boxed{3}", "2"), (r"\boxed{1} no no no \boxed{2}", "1, 2"),
             ("$$2, 3, 5$$", r"$$\boxed{2}, \boxed{3}, \boxed{5}, \boxed{7}$$"),
             (r"\boxed{7}", r"$$\boxed{2}, \boxed{3}, \boxed{5}, \boxed{7}$$")]
    assert _judge(verifier, wrong) == [False] * len(wrong)


def test_over_escaped_commands_are_read_by_our_ladder(verifier: MathVerifier) -> None:
    """`\\\\frac`, `\\\\left(` (a doubled backslash before a command name) is that command; a real
    row break (`\\\\` then a space, or three backslashes) is left alone."""
    from verifiers.math.normalize import normalize_answer

    assert normalize_answer(r"\\left( \\frac{4}{3}, -\\frac{1}{3} \\right)") == r"( \frac{4}{3}, -\frac{1}{3} )"
    assert normalize_answer(r"\begin{pmatrix}1 \\ 2\end{pmatrix}") == r"\begin{pmatrix}1 \\ 2\end{pmatrix}"
    assert normalize_answer(r"1\\\frac{1}{2}") == r"1\\\frac{1}{2}"
    right = verifier.verify_batch([(r"\boxed{( \frac{4}{3}, -\frac{1}{3} )}", r"$\\left( \\frac{4}{3}, -\\frac{1}{3} \\right)$"),
                                   (r"\boxed{\( 3, \\frac{\\pi}{2} \)}", r"$(3, \frac{\pi}{2})$")])
    assert all(v.passed and v.details["match_method"] != "math_verify" for v in right), right
    wrong = [(r"\boxed{( \frac{4}{3}, \frac{1}{3} )}", r"$\\left( \\frac{4}{3}, -\\frac{1}{3} \\right)$"),
             (r"\boxed{\( 3, \\frac{\\pi}{3} \)}", r"$(3, \frac{\pi}{2})$")]
    assert _judge(verifier, wrong) == [False, False]


def test_last_math_span_holding_the_last_number_is_read_by_our_ladder(verifier: MathVerifier) -> None:
    """A last-number reading inside the response's last math span becomes the whole span (a
    matrix, a relation); a number after the span keeps the last-number reading."""
    from verifiers.math.extract import last_math_span

    assert last_math_span(r"We have $x = 3$, so x is actually 5") is None
    assert last_math_span(r"It costs $5 and $6 in all") is None
    right = verifier.verify_batch([
        (r"The inverse is $ \begin{pmatrix}2 & -1 \\ -5 & 3\end{pmatrix} $.", r"$\begin{pmatrix}2 & -1 \\ -5 & 3\end{pmatrix}$"),
        (r"Hence \(y \leq 7\) holds.", "$y <= 7$"),
    ])
    assert all(v.passed and v.details["extract_method"] == "math_span" for v in right), right
    wrong = [(r"The inverse is $ \begin{pmatrix}2 & 1 \\ -5 & 3\end{pmatrix} $.", r"$\begin{pmatrix}2 & -1 \\ -5 & 3\end{pmatrix}$"),
             (r"Hence \(y \geq 7\) holds.", "$y <= 7$"), (r"We have $x = 3$, so x is actually 5", "3")]
    assert _judge(verifier, wrong) == [False] * len(wrong)
