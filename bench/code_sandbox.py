"""Benchmark the code sandbox: sandboxed runs/s, and the per-run cost of each isolation layer.

    .venv/bin/python bench/code_sandbox.py [--runs 200] [--layer-runs 40] [--workers N] [--json out.json]

1. Throughput: ``--runs`` trivial tasks (``def f(): return 1`` + one assert)
   through ``CodeVerifier.verify_batch`` at the level the self-test picks, with
   the default worker count (and ``--workers`` if given). Every verdict must be
   ``pass``; the script exits non-zero otherwise.
2. Per-layer cost: the same task run serially (one at a time, so CPU
   contention does not blur the figures) under cumulative layer stacks --
   plain subprocess, + rlimits/session, + uid/cgroup, + bwrap, + seccomp --
   reporting the median wall and CPU ms per run (CPU = user+sys of the
   reaped launch chain, from ``wait4``) and the increment over the previous
   stack. Stacks this machine cannot run are reported as unavailable; a run
   that does not pass is counted in its row (it used to stop the script with an
   AssertionError: each serial run left a zombie in the slot until the 64 pids
   were used up, see ``verifiers/code/sandbox.py``, Killing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifiers.code import CodeVerifier  # noqa: E402
from verifiers.code.run import run_one  # noqa: E402
from verifiers.code.sandbox import Layers, Limits  # noqa: E402
from verifiers.code.verifier import default_workers  # noqa: E402

RESPONSE = "```python\ndef f():\n    return 1\n```"
REFERENCE = json.dumps({"entry_point": "f", "tests": "assert f() == 1"})

STACKS = [
    ("plain subprocess", Layers(rlimits=False, session=False)),
    ("+ rlimits/session", Layers()),
    ("+ uid/cgroup", Layers(cgroup=True, uid=True)),
    ("+ bwrap", Layers(cgroup=True, uid=True, bwrap=True)),
    ("+ seccomp (full)", Layers(cgroup=True, uid=True, bwrap=True, seccomp=True)),
]


def throughput(runs: int, workers: int | None) -> dict:
    v = CodeVerifier(timeout_s=5.0, memory_mb=512, workers=workers)
    level = v.level.name  # self-test outside the timing
    v.verify_batch([(RESPONSE, REFERENCE)] * 4)  # warm: slots, cgroups, uid leases
    t0 = time.perf_counter()
    out = v.verify_batch([(RESPONSE, REFERENCE)] * runs)
    dt = time.perf_counter() - t0
    bad = [x.reason for x in out if x.reason != "pass"]
    return {"level": level, "workers": workers or default_workers(), "runs": runs, "seconds": round(dt, 2),
            "runs_per_s": round(runs / dt, 1), "not_pass": len(bad), "wall_ms_median":
            round(statistics.median(x.details["wall_ms"] for x in out), 1)}


def layer_costs(n: int) -> list[dict]:
    limits = Limits(timeout_s=5.0, memory_mb=512)
    rows, prev = [], None
    for label, layers in STACKS:
        probe = run_one("def f():\n    return 1\n", REFERENCE, layers, limits)
        if probe.reason != "pass":
            rows.append({"stack": label, "layers": layers.name, "available": False, "why": probe.reason})
            continue
        walls, cpus, not_pass = [], [], []
        for _ in range(n):
            v = run_one("def f():\n    return 1\n", REFERENCE, layers, limits)
            if v.reason != "pass":  # counted and reported, not asserted: the table is still printed
                not_pass.append(f"{v.reason}: {v.details.get('error', '')}"[:200])
                continue
            walls.append(v.details["wall_ms"])
            cpus.append(v.details["cpu_ms"])
        if not walls:
            rows.append({"stack": label, "layers": layers.name, "available": False, "why": not_pass[0]})
            continue
        row = {"stack": label, "layers": layers.name, "available": True, "not_pass": len(not_pass),
               "first_not_pass": not_pass[:1], "wall_ms": round(statistics.median(walls), 1),
               "cpu_ms": round(statistics.median(cpus), 1)}
        if prev is not None:
            row["wall_ms_added"] = round(row["wall_ms"] - prev["wall_ms"], 1)
            row["cpu_ms_added"] = round(row["cpu_ms"] - prev["cpu_ms"], 1)
        rows.append(row)
        prev = row
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--layer-runs", type=int, default=40)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    results = {"throughput": [throughput(args.runs, None)]}
    if args.workers:
        results["throughput"].append(throughput(args.runs, args.workers))
    for t in results["throughput"]:
        print(f"throughput: {t['runs']} runs at {t['level']} with {t['workers']} workers: "
              f"{t['runs_per_s']} runs/s ({t['seconds']} s, median wall {t['wall_ms_median']} ms/run, "
              f"{t['not_pass']} not pass)")
    results["layers"] = layer_costs(args.layer_runs)
    print(f"\nper-run cost, serial, median of {args.layer_runs} runs:")
    print(f"{'stack':22} {'wall ms':>8} {'cpu ms':>7} {'+wall':>7} {'+cpu':>6}  layers")
    for r in results["layers"]:
        if not r["available"]:
            print(f"{r['stack']:22} unavailable here ({r['why']})")
            continue
        print(f"{r['stack']:22} {r['wall_ms']:8.1f} {r['cpu_ms']:7.1f} {r.get('wall_ms_added', 0):7.1f} "
              f"{r.get('cpu_ms_added', 0):6.1f}  {r['layers']}"
              + (f"  ({r['not_pass']} not pass: {r['first_not_pass'][0]})" if r["not_pass"] else ""))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    ok = all(t["not_pass"] == 0 for t in results["throughput"]) \
        and all(r.get("not_pass", 0) == 0 for r in results["layers"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
