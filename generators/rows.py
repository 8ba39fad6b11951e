"""Warehouse rows built from generator objects: seeds, templates, prompts, teacher answers and failures.

One place for each row's shape, so the generate and synthesis stages write the
same columns; warehouse/generations.py and warehouse/synthesis.py store them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from generators.parsing import split_reasoning
from generators.seeds import Seed
from generators.teachers import Completion, Failure, Request, TeacherConfig
from generators.templates import Prompt, Template
from warehouse.ids import now


def seed_row(s: Seed, run_id: str, stamp: datetime) -> dict:
    return {"seed_id": s.seed_id, "domain": s.domain, "topic": s.topic, "split": s.split, "question": s.question,
            "reference": s.reference, "source_file": s.source_file, "source_line": s.source_line,
            "payload": s.payload, "run_id": run_id, "created_at": stamp}


def template_row(t: Template, stamp: datetime) -> dict:
    return {"template_id": t.template_id, "name": t.name, "domain": t.domain, "version": t.version,
            "body": t.body, "source_file": t.source_file, "created_at": stamp}


def prompt_row(p: Prompt, run_id: str, stamp: datetime) -> dict:
    return {**p.to_row(), "run_id": run_id, "created_at": stamp}


def input_rows(seeds: Iterable[Seed], templates: Iterable[Template], prompts: Iterable[Prompt],
               run_id: str) -> dict[str, list[dict]]:
    """Rows for `register_inputs`, one timestamp for all; templates are deduplicated by id (the last wins)."""
    stamp = now()
    unique = {t.template_id: t for t in templates}
    return {"seeds": [seed_row(s, run_id, stamp) for s in seeds],
            "templates": [template_row(t, stamp) for t in unique.values()],
            "prompts": [prompt_row(p, run_id, stamp) for p in prompts]}


def generation_row(c: Completion, request: Request, prompt_id: str, cfg: TeacherConfig, run_id: str) -> dict:
    if c.reasoning is not None:  # the API gave the reasoning apart: the text is the answer
        reasoning, answer = c.reasoning.strip(), c.text.strip()
    else:
        reasoning, answer = split_reasoning(c.text)
    return {"generation_id": c.key, "prompt_id": prompt_id, "teacher_id": cfg.teacher_id,
            "sample_index": request.sample_index, "raw": c.text, "reasoning": reasoning, "answer": answer,
            "finish_reason": c.finish_reason, "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens, "latency_s": c.latency_s, "cost_usd": c.cost_usd,
            "abandoned": c.abandoned, "abandoned_cost_usd": c.abandoned_cost_usd, "run_id": run_id,
            "created_at": now()}


def logprobs_row(c: Completion) -> dict:
    return {"generation_id": c.key, "top_k": max((len(t) for t in c.logprobs["top_tokens"]), default=0),
            **c.logprobs}


def failure_row(f: Failure, request: Request, prompt_id: str, cfg: TeacherConfig, run_id: str) -> dict:
    stamp = now()
    return {"generation_id": f.key, "prompt_id": prompt_id, "teacher_id": cfg.teacher_id,
            "sample_index": request.sample_index, "error_type": f.error_type, "status_code": f.status_code,
            "message": f.message, "attempts": f.attempts, "abandoned": f.abandoned,
            "abandoned_cost_usd": f.abandoned_cost_usd, "run_id": run_id, "first_failed_at": stamp,
            "last_failed_at": stamp}
