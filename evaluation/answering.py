"""Contestants answer the held-out prompts through a teacher backend; the domain verifiers score the answers.

`progress(label, total)` is a context manager yielding `advance(n, tokens=...)` (generators.ask.Progress):
the flow passes a rich bar or log lines with a rate; this package draws nothing itself.
"""

from __future__ import annotations

import time

from evaluation import probes
from evaluation.config import EvalConfig
from evaluation.contestants import Contestant
from generators.ask import Progress, no_progress
from generators.teachers import Completion, Request, TeacherConfig, build_teacher
from generators.teachers.hf import TransformersTeacher, load_causal_lm
from verifiers import verifier_for
from verifiers.base import Verdict


def answer(player: Contestant, prompts: list[dict], cfg: EvalConfig,
           progress: Progress = no_progress) -> tuple[list[str], float, float | None]:
    """Greedy answers in prompt order, their mean latency, and the generated tokens per second of wall time
    (the same harness for every contestant: same prompts, batch size and max tokens); an adapter needs the
    transformers backend."""
    began = time.perf_counter()
    done = _generate(player, player.greedy(cfg), [Request(p["prompt_id"], p["text"]) for p in prompts],
                     f"eval {player.role}", progress)
    wall = time.perf_counter() - began
    latency = sum(c.latency_s for c in done.values()) / len(done)
    tokens = sum(c.completion_tokens for c in done.values())
    return [done[p["prompt_id"]].text for p in prompts], latency, (tokens / wall if wall > 0 and tokens else None)


def sample(player: Contestant, prompts: list[dict], cfg: EvalConfig, have: set[tuple[str, int]],
           progress: Progress = no_progress) -> list[tuple[dict, int, str]]:
    """(prompt, sample index, response) for each of `cfg.samples` samples per prompt not in `have`."""
    todo = [(p, i) for p in prompts for i in range(cfg.samples) if (p["prompt_id"], i) not in have]
    if not todo:
        return []
    requests = [Request(f"{p['prompt_id']}#{i}", p["text"], sample_index=i) for p, i in todo]
    done = _generate(player, player.sampling(cfg), requests, f"sample {player.role}", progress)
    return [(p, i, done[r.key].text) for (p, i), r in zip(todo, requests)]


def _generate(player: Contestant, config: TeacherConfig, requests: list[Request], label: str,
              progress: Progress) -> dict[str, Completion]:
    teacher = TransformersTeacher(config, adapter=player.adapter) if player.adapter else build_teacher(config)
    done: dict[str, Completion] = {}
    try:
        with progress(f"{label} ({config.model})", len(requests)) as advance:
            for batch in teacher.generate(requests):
                done.update((c.key, c) for c in batch)
                advance(len(batch), tokens=sum(c.completion_tokens for c in done.values()))
    finally:
        teacher.close()
    return done


def probe(player: Contestant, todo: dict[str, list[dict]], batch_size: int,
          progress: Progress = no_progress) -> list[dict]:
    """Score the contestant's model on the probe items in `todo` (probe -> items); one row per item."""
    model, tokenizer = load_causal_lm(player.model, player.adapter)
    rows = []
    for name, items in todo.items():
        with progress(f"probe {name} {player.role} (sequences)", probes.sequences(items)) as advance:
            rows += probes.score_items(model, tokenizer, name, items, batch_size, advance)
    return rows


def scored_items(evaluation_id: str, prompts: list[dict], responses: list[str],
                 verify_options: dict[str, dict] | None = None) -> list[dict]:
    """One `evaluation_items` row per prompt: the response and the verifier's verdict on it."""
    return [{"evaluation_id": evaluation_id, "prompt_id": prompt["prompt_id"], "response": response,
             "passed": verdict.passed, "reason": verdict.reason, "extracted": verdict.extracted}
            for prompt, response, verdict in zip(prompts, responses, verify_all(prompts, responses, verify_options))]


def verify_all(prompts: list[dict], responses: list[str], options: dict[str, dict] | None = None) -> list[Verdict]:
    """Verdicts in input order, one verifier batch per domain (built with its `options`, if any)."""
    verdicts: dict[int, Verdict] = {}
    for domain in {p["domain"] for p in prompts}:
        idx = [i for i, p in enumerate(prompts) if p["domain"] == domain]
        verifier = verifier_for(domain, **(options or {}).get(domain, {}))
        batch = verifier.verify_batch([(responses[i], prompts[i]["reference"]) for i in idx])
        verdicts.update(zip(idx, batch))
    return [verdicts[i] for i in range(len(prompts))]
