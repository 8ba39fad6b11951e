"""Contestants answer the held-out prompts through a teacher backend; the domain verifiers score the answers."""

from __future__ import annotations

from evaluation.config import EvalConfig
from evaluation.contestants import Contestant
from generators.teachers import Request, build_teacher
from generators.teachers.hf import TransformersTeacher
from verifiers import verifier_for
from verifiers.base import Verdict


def answer(player: Contestant, prompts: list[dict], cfg: EvalConfig) -> tuple[list[str], float]:
    """Greedy answers in prompt order and their mean latency; an adapter needs the transformers backend."""
    greedy = player.greedy(cfg)
    teacher = TransformersTeacher(greedy, adapter=player.adapter) if player.adapter else build_teacher(greedy)
    try:
        done = {c.key: c for batch in teacher.generate([Request(p["prompt_id"], p["text"]) for p in prompts])
                for c in batch}
    finally:
        teacher.close()
    latency = sum(c.latency_s for c in done.values()) / len(done)
    return [done[p["prompt_id"]].text for p in prompts], latency


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
