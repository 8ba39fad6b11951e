"""One extracted program, run sandboxed against its tests; the outcome is decided here, outside the sandbox.

``run_one`` is what both the public verifier (``verifier.py``) and the start-up
self-test (``selftest.py``) run, so it sits below both of them.

Outcomes (``Verdict.reason``)
-----------------------------
``pass``, ``fail``, ``timeout``, ``memory_limit``, ``output_limit``,
``runtime_error``, ``infra_error``, ``no_code``. Only ``pass`` has
``passed=True``. The decision, in order:

1. ``no_code`` -- ``extract.py`` found no program (``verifier.py``; nothing is run).
2. ``infra_error`` -- the reference has no usable tests, the slot or launch
   failed, or the harness never sent its token-bearing "ready" line (it is sent
   after the sandbox is set up and before candidate code runs, so its absence
   is never the candidate's doing). An infrastructure failure is never ``fail``.
3. ``output_limit`` -- stdout + stderr exceeded ``output_limit_bytes`` (the run
   is killed at the cap), or the result channel exceeded 16 MiB.
4. ``timeout`` -- the wall deadline (``timeout_s`` + 1 s start-up grace) passed
   or RLIMIT_CPU fired (SIGXCPU) before a result record arrived.
5. ``memory_limit`` -- the slot's cgroup counted an OOM kill, or a
   ``MemoryError`` was raised (RLIMIT_AS) while loading or testing.
6. no result record: exit code 0 -> ``fail`` (e.g. ``os._exit(0)`` before the
   tests: exit code 0 never means "passed"); otherwise ``runtime_error``
   (a crash: segfault, abort, an uncaught exception in a forked child...).
7. a result record: the program failed to load (SyntaxError, an exception at
   top level, ``sys.exit``) -> ``runtime_error``. Otherwise every check the
   record carries (one per assert that ran, wherever it sits: ``plan.py``) is
   judged HERE (``plan.judge``, on plain decoded builtins, expected literals
   never having entered the sandbox). ``pass`` iff every check passed, at least
   one check of a sandbox value ran, every assert that always runs reported,
   no test step raised, exactly one result record arrived and the process
   exited 0; else ``fail``. An exception raised by the candidate inside a test
   is a failed test.

The result record and its token: what it proves
----------------------------------------------
A fresh 128-bit token is generated per run and given to the harness on stdin;
the harness reads it before any candidate code runs, and only records carrying
it are believed. Records are JSON (never pickle), on a dedicated pipe; stdout is
never parsed. This defeats every *blind* forgery: printing "PASS", writing a
JSON verdict to stdout or to any file, replaying a record from another run,
exiting 0 early, killing the harness. It does NOT stop a candidate that
introspects the interpreter it shares with the harness (``gc``, frames,
``/proc/self/mem``) to find the token and write its own record: a secret
cannot be hidden from code in the same process. Against that attacker the
rule is: value checks (the common ``assert f(x) == literal`` form) cannot be
faked, because the expected value is never inside the sandbox and the
comparison happens here on plain decoded builtins; a forged record can only
claim values, and claiming the right ones means solving the task; it cannot
leave such a check out either when the check always runs (the asserts at the
top level of the tests and of ``check``: ``plan.py``'s *required* checks). A
forged record CAN claim passing values for checks whose expected value is
computed inside the sandbox (``assert f(x) == g(x)``, asserts in loops that
compare with a loop variable), for truthiness and order tests (``assert
f(x)``, ``is True``, ``< 3``), and can leave out checks in loops and
conditionals; ``details["checks_inside"]`` counts the checks of those kinds.
Candidates that do not introspect cannot do any of this: the tests run in
their own namespace with their own copy of ``builtins`` (``harness.py``).

``details``: ``isolation`` (level name), ``exit_code`` (negative = signal),
``checks`` (checks of a sandbox value that ran; a check in a loop counts once
per iteration; ``assert True`` does not count), ``checks_passed``,
``checks_inside`` (see above), ``tests_total``/``tests_passed`` (the same as
``checks``/``checks_passed``, kept for older readers), ``stderr_tail`` (last
1 KiB), ``wall_ms``, ``cpu_ms`` (the sandbox chain's CPU), and where relevant
``error``, ``load_error``, ``failed`` (the first five failing checks, with the
assert as written), ``aborted_at`` (the test step that raised).

Version 2.0.0: every assert that runs is a check (loops, helpers,
``check(candidate)``); MBPP lists; ``checks``; no zombie per run.
"""

from __future__ import annotations

import hmac
import secrets
import signal
import time
from typing import Any

from verifiers.base import Verdict
from verifiers.code import sandbox
from verifiers.code.plan import REC, BadReference, Plan, judge, make_plan
from verifiers.code.sandbox import Layers, Limits, RunResult
from verifiers.code.seccomp import compiled_filter

NAME = "code"
VERSION = "2.0.0"
EXTRACT_CAP = 4096
STDERR_CAP = 1024


def make_verdict(reason: str, extracted: str | None, t0: float, details: dict[str, Any]) -> Verdict:
    """A verdict of this verifier; `extracted` is cut at EXTRACT_CAP characters."""
    if extracted is not None and len(extracted) > EXTRACT_CAP:
        extracted = extracted[:EXTRACT_CAP] + "\n# ... truncated"
    return Verdict(passed=reason == "pass", reason=reason, extracted=extracted, verifier=NAME, version=VERSION,
                   duration_s=time.monotonic() - t0, details=details)


def decide(res: RunResult, plan: Plan, token: str) -> tuple[str, dict[str, Any]]:
    """(outcome, details) from the raw facts of one run; see the module docstring."""
    d: dict[str, Any] = {"exit_code": res.exit_code, "wall_ms": round(res.wall_ms, 1),
                         "cpu_ms": round(res.cpu_ms, 1), "stderr_tail": res.stderr_tail[-STDERR_CAP:],
                         "checks": 0, "tests_total": 0, "checks_inside": 0}
    if res.error or not res.launched:
        d["error"] = res.error or "not launched"
        return "infra_error", d
    mine = [r for r in res.records if isinstance(r, dict) and isinstance(r.get("token"), str)
            and hmac.compare_digest(r["token"].encode(), token.encode())]
    stages = [r.get("stage") for r in mine]
    if "setup_error" in stages:
        d["error"] = "sandbox set-up failed: " + str(mine[stages.index("setup_error")].get("error"))[:500]
        return "infra_error", d
    if "ready" not in stages:
        d["error"] = "the sandbox did not start (no ready record)"
        if res.timed_out:
            d["error"] += " before the deadline"
        return "infra_error", d
    results = [r for r in mine if r.get("stage") == "result"]
    if res.output_exceeded:
        return "output_limit", d
    if not results and (res.timed_out or res.exit_code == -signal.SIGXCPU):
        return "timeout", d
    if res.oom_killed:
        return "memory_limit", d
    if results and results[0].get("memory_error"):
        return "memory_limit", d
    if not results:
        if "MemoryError" in res.stderr_tail:
            return "memory_limit", d
        if res.exit_code == 0:
            d["error"] = "exited 0 without a result record"
            return "fail", d
        d["error"] = "exited without a result record"
        return "runtime_error", d
    if len(results) > 1 or res.bad_lines:
        d["error"] = "result channel tampered with (extra or malformed records)"
        return "fail", d
    rec = results[0]
    if rec.get("load"):
        d["load_error"] = str(rec["load"])[:500]
        return "runtime_error", d
    failed = _judge_record(rec, plan, d)
    if not failed and d["checks"] > 0:
        if res.exit_code != 0:
            d["error"] = "all checks passed but the process exited with a non-zero code"
            return "runtime_error", d
        return "pass", d
    if not failed:
        d["error"] = "no check ran (an assert that is never reached is not a check)"
    return "fail", d


def _judge_record(rec: dict[str, Any], plan: Plan, d: dict[str, Any]) -> list[dict[str, Any]]:
    """Judge every check the record carries, here; fill the counts into `d`; the failures, in order."""
    checks = rec.get("checks") if isinstance(rec.get("checks"), list) else []
    errors = rec.get("errors") if isinstance(rec.get("errors"), dict) else {}
    failed: list[dict[str, Any]] = []
    counted = passed = inside = 0
    seen: set[int] = set()
    for item in checks:
        site = plan.sites.get(item[0]) if isinstance(item, list) and len(item) == 2 and type(item[0]) is int \
            else None
        if site is None:
            failed.append({"error": "malformed check record"})
            continue
        seen.add(site.id)
        ok = judge(site, item[1])
        if not site.constant:
            counted += 1
            passed += ok
            inside += not site.expected_outside
        if not ok:
            failed.append({"site": site.id, "assert": site.src[:200]})
    for step in plan.steps:
        msg = errors.get(str(step["id"]))
        if msg is None:
            continue
        site = plan.sites.get(step.get("site", -1))
        if site is not None:  # a top-level assert that raised: a failed check
            seen.add(site.id)
            counted += 1
            inside += not site.expected_outside
        failed.append({"step": step["id"], "assert": site.src[:200] if site else None, "error": str(msg)[:200]})
    missing = sorted(plan.required - seen)
    if missing:
        failed.append({"error": f"{len(missing)} assert(s) that always run did not report",
                       "assert": plan.sites[missing[0]].src[:200]})
    if rec.get("aborted") is not None:
        d["aborted_at"] = rec["aborted"]
    d.update(checks=counted, checks_passed=passed, checks_inside=inside, tests_total=counted, tests_passed=passed)
    if failed:
        d["failed"] = failed[:5]
    return failed


def run_one(program: str, tests: str, layers: Layers, limits: Limits, tools: sandbox.Tools | None = None) -> Verdict:
    """Run an already-extracted program against test code (`reference` format) under `layers`."""
    t0 = time.monotonic()
    try:
        plan = make_plan(tests)
    except BadReference as e:
        return make_verdict("infra_error", program, t0, {"isolation": layers.name, "error": f"bad reference: {e}"})
    token = secrets.token_hex(16)
    payload = {"token": token, "program": program, "steps": plan.steps, "rec": REC}
    bpf = compiled_filter() if layers.seccomp else None
    if layers.seccomp and bpf is None:
        return make_verdict("infra_error", program, t0, {"isolation": layers.name,
                                                         "error": "seccomp filter unavailable (pyseccomp/libseccomp)"})
    try:
        res = sandbox.run(payload, layers, limits, tools=tools, seccomp_bpf=bpf)
    except Exception as e:  # noqa: BLE001 - the sandbox machinery itself broke
        return make_verdict("infra_error", program, t0, {"isolation": layers.name, "error": f"{type(e).__name__}: {e}"})
    reason, details = decide(res, plan, token)
    details = {"isolation": layers.name, **details}
    return make_verdict(reason, program, t0, details)
