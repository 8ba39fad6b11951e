"""Throughput of the `openai` teacher backend against the loopback server (tests/openai_server.py).

Runs, each against a fresh server process with 200 ms latency:

  clean   2,000 requests at concurrency 64, no faults: wall time vs the ideal
          (requests x latency / concurrency) and client CPU per request; the lanes
          start spread over one round trip (`ramp_up_s` = the server's 200 ms);
  noramp  the same with `ramp_up_s: 0` (the default): all lanes start at once;
  faults  the same with 10% 429 (`Retry-After: 1`) and 5% 500: every request must
          come back, none answered twice;
  sdk     for comparison, the faults run with the plain SDK: AsyncOpenAI's own
          retries (max_retries=8) under an asyncio.Semaphore(64), which sleeps out
          Retry-After while holding its slot;
  floor   the clean run with bare aiohttp and no SDK: what this server and loopback
          allow at all (the part of the overhead that is not the client's);
  grouped the same 2,000 samples as 500 prompts x 4 samples, each prompt's samples in
          one call with `n` (`samples_per_request: 4`): calls and prompt tokens paid;
  stored  the clean run through the generate stage's storage path: each answer journaled
          on arrival and inserted into a DuckDB warehouse by a writer thread (its overhead
          is its ratio to `clean`).

On a machine with few cores the server and the client compete for the same CPUs, and
the scheduler's choices show up as wall-time noise; by default the server process is
pinned to the last CPU and the client to the others (`--no-pin` to leave both free).
`--repeat N` runs the cases N times in turns, each against a fresh server, and reports
medians, and with `floor` among them each case's ratio to the floor run of its turn
(which cancels most of the machine's drift).

Usage: .venv/bin/python bench/openai_throughput.py [--requests 2000] [--concurrency 64]
       [--runs clean,noramp,faults,sdk,floor,grouped,stored] [--repeat 1] [--no-pin]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generators.teachers import Completion, Request, TeacherConfig  # noqa: E402
from generators.teachers.openai_api import OpenAITeacher  # noqa: E402
from tests.openai_server import spawn_server  # noqa: E402

LATENCY = 0.2


def run_engine(url: str, n: int, concurrency: int, samples: int = 1, ramp_up_s: float = LATENCY) -> dict:
    """`n` samples; with `samples` > 1, n / samples prompts whose samples go out in one call each (`n`).
    `ramp_up_s`: the lanes start spread over one round trip (the endpoint's latency, as README advises)."""
    cfg = TeacherConfig(backend="openai", model="loopback-teacher", base_url=url, api_key_env=None,
                        concurrency=concurrency, max_attempts=10, max_tokens=32, batch_size=256,
                        samples_per_request=samples, ramp_up_s=ramp_up_s)
    teacher = OpenAITeacher(cfg)
    requests = [Request(f"k{i:05d}", f"What is {i // samples} + {i // samples + 1}?", i % samples) for i in range(n)]
    cpu0, t0 = time.process_time(), time.perf_counter()
    items = [c for batch in teacher.generate(requests) for c in batch]
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    ok = [c for c in items if isinstance(c, Completion)]
    return {"wall_s": wall, "client_cpu_s": cpu, "completions": len(ok), "failures": len(items) - len(ok),
            "attempt_errors": teacher.errors, "prompt_tokens": sum(c.prompt_tokens for c in ok)}


def run_sdk(url: str, n: int, concurrency: int) -> dict:
    from openai import AsyncOpenAI

    async def main() -> int:
        client = AsyncOpenAI(base_url=url, api_key="x", max_retries=8)
        slots = asyncio.Semaphore(concurrency)

        async def one(i: int) -> bool:
            async with slots:
                r = await client.chat.completions.create(
                    model="loopback-teacher", messages=[{"role": "user", "content": f"What is {i} + {i + 1}?"}],
                    max_tokens=32, extra_headers={"Idempotency-Key": f"k{i:05d}"})
                return bool(r.choices)

        done = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
        await client.close()
        return sum(d is True for d in done)

    cpu0, t0 = time.process_time(), time.perf_counter()
    completions = asyncio.run(main())
    return {"wall_s": time.perf_counter() - t0, "client_cpu_s": time.process_time() - cpu0,
            "completions": completions, "failures": n - completions}


def run_floor(url: str, n: int, concurrency: int) -> dict:
    import aiohttp

    async def main() -> int:
        slots = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            async def one(i: int) -> bool:
                async with slots:
                    body = {"model": "loopback-teacher", "max_tokens": 32,
                            "messages": [{"role": "user", "content": f"What is {i} + {i + 1}?"}]}
                    async with session.post(f"{url}/chat/completions", json=body,
                                            headers={"Idempotency-Key": f"k{i:05d}"}) as r:
                        return bool((await r.json())["choices"])

            return sum(await asyncio.gather(*(one(i) for i in range(n))))

    cpu0, t0 = time.process_time(), time.perf_counter()
    completions = asyncio.run(main())
    return {"wall_s": time.perf_counter() - t0, "client_cpu_s": time.process_time() - cpu0,
            "completions": completions, "failures": n - completions}


GROUP = 4
def run_stored(url: str, n: int, concurrency: int) -> dict:
    """The clean run as the generate stage does it (generators/ask.py): every answer journaled on arrival
    (fsynced in groups) and inserted into a DuckDB warehouse by the writer thread, all before the run ends."""
    import tempfile

    from generators.ask import ask_teacher
    from generators.teachers import Budget
    from warehouse.db import Warehouse

    cfg = TeacherConfig(backend="openai", model="loopback-teacher", base_url=url, api_key_env=None,
                        concurrency=concurrency, max_attempts=10, max_tokens=32, batch_size=256, ramp_up_s=LATENCY)
    requests = [Request(f"k{i:05d}", f"What is {i} + {i + 1}?", 0) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(Path(tmp) / "w.duckdb")
        wh.init()
        cpu0, t0 = time.process_time(), time.perf_counter()
        out = ask_teacher(wh, cfg, requests, {r.key: "p" for r in requests}, Budget(), run_id="bench")
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        stored = wh.scalar("SELECT count(*) FROM generations")
    return {"wall_s": wall, "client_cpu_s": cpu, "completions": stored, "failures": out["failed"],
            "attempt_errors": 0}


RUNS = {  # name: (runner, server faults, samples per call)
    "clean": (run_engine, {}, 1),
    "noramp": (lambda url, n, c: run_engine(url, n, c, ramp_up_s=0.0), {}, 1),
    "faults": (run_engine, {"p429": 0.10, "retry_after": 1, "p500": 0.05}, 1),
    "sdk": (run_sdk, {"p429": 0.10, "retry_after": 1, "p500": 0.05}, 1),
    "floor": (run_floor, {}, 1),
    "grouped": (lambda url, n, c: run_engine(url, n, c, samples=GROUP), {}, GROUP),
    "stored": (run_stored, {}, 1),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--runs", default="clean,noramp,faults,sdk,floor,grouped,stored")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each case; the median is reported")
    ap.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin server and client to CPUs")
    args = ap.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pin = args.pin and len(cpus) >= 2
    if pin:
        os.sched_setaffinity(0, cpus[:-1])
    ideal = args.requests * LATENCY / args.concurrency
    rounds = -(-args.requests // args.concurrency) * LATENCY  # whole rounds of `concurrency` requests
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; ideal {ideal:.2f} s (whole rounds: {rounds:.2f} s); "
          + (f"server pinned to CPU {cpus[-1]}, client to {cpus[:-1]}" if pin else "not pinned"))
    names = args.runs.split(",")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(args.repeat):  # the cases take turns, so a slow spell of the machine hits them all alike
        for name in names:
            fn, faults, per_call = RUNS[name]
            with spawn_server(latency_s=LATENCY, seed=0, **faults) as server:
                if pin:
                    os.sched_setaffinity(server.pid, cpus[-1:])
                out = fn(server.url, args.requests, args.concurrency)
                stats = server.stats(summary=True)
            run_ideal = ideal / per_call  # the ideal counts calls
            out.update(ideal_s=run_ideal, vs_ideal=out["wall_s"] / run_ideal,
                       cpu_ms_per_call=1000 * out["client_cpu_s"] / (args.requests / per_call),
                       server_requests=stats["total"], answered=stats["answered"],
                       answered_twice=stats["answered_twice"], by_outcome=stats["by_outcome"])
            runs[name].append(out)
            print(f"{name:7s} wall {out['wall_s']:6.2f} s ({out['vs_ideal']:.2f}x ideal), client CPU "
                  f"{out['cpu_ms_per_call']:.2f} ms/call, {out['completions']}/{args.requests} returned, "
                  f"answered twice {out['answered_twice']}, server saw {out['by_outcome']}"
                  + (f", prompt tokens {out['prompt_tokens']}" if "prompt_tokens" in out else ""), flush=True)
    results = {}
    for name in names:
        walls = [r["wall_s"] for r in runs[name]]
        median = statistics.median(walls)
        results[name] = {"median_wall_s": median, "median_vs_ideal": median / runs[name][0]["ideal_s"],
                         "range_s": [min(walls), max(walls)],
                         "cpu_ms_per_call": statistics.median(r["cpu_ms_per_call"] for r in runs[name]),
                         "all_returned": all(r["completions"] == args.requests for r in runs[name]),
                         "answered_twice": max(r["answered_twice"] for r in runs[name]), "runs": runs[name]}
        if "floor" in runs and name != "floor":  # the same turn's floor run: the client's own share
            results[name]["vs_floor_median"] = statistics.median(
                r["wall_s"] / f["wall_s"] for r, f in zip(runs[name], runs["floor"]))
        print(f"{name:7s} median {median:.2f} s ({results[name]['median_vs_ideal']:.2f}x ideal) over "
              f"{args.repeat} run(s), range {min(walls):.2f}-{max(walls):.2f} s"
              + (f", {results[name]['vs_floor_median']:.3f}x the floor run of the same turn"
                 if "vs_floor_median" in results[name] else ""), flush=True)
    print(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
