"""Benchmark: the transformers teacher with and without the shared-prefix KV cache.

The quickstart teacher sends five few-shot turns before every problem. This
times greedy generation of the same requests both ways on the embedded model
and checks that the outputs are identical.

    .venv/bin/python bench/teacher_prefix_cache.py [--requests 32] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    from flows.recipe import load_recipe
    from generators.teachers import Request
    from generators.teachers.hf import TransformersTeacher

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=32, help="train problems to answer")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per batch")
    args = parser.parse_args()

    cfg = replace(load_recipe("quickstart").teacher, temperature=0.0, batch_size=args.batch_size)
    rows = [json.loads(line) for line in (ROOT / "examples/math/seeds.jsonl").read_text().splitlines()]
    requests = [Request(r["id"], r["question"]) for r in rows if r["split"] == "train"][: args.requests]
    teacher = TransformersTeacher(cfg)
    cache = teacher._prefix_cache
    results = {}
    for label, prefix in (("prefix cache", cache), ("no cache", None)):
        teacher._prefix_cache = prefix
        began = time.perf_counter()
        out = {c.key: c for batch in teacher.generate(requests) for c in batch}
        results[label] = (time.perf_counter() - began, out)
    (cached_s, cached), (plain_s, plain) = results["prefix cache"], results["no cache"]
    same = sum(cached[k].text == plain[k].text for k in plain)
    print(f"machine: {platform.machine()}, {__import__('os').cpu_count()} cpus, torch threads "
          f"{__import__('torch').get_num_threads()}")
    print(f"{len(requests)} requests, batch {args.batch_size}, {cfg.max_tokens} max new tokens, "
          f"{len(cfg.few_shot)} few-shot turns")
    for label, (seconds, out) in results.items():
        print(f"{label:>12}: {seconds:6.1f} s  {len(out) / seconds:5.2f} req/s")
    print(f"speedup {plain_s / cached_s:.2f}x, identical outputs {same}/{len(plain)}")


if __name__ == "__main__":
    main()
