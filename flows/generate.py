"""Stage 1-2: register seeds, templates and prompts; ask the teacher for what is missing.

Idempotent by construction: a generation's id is hash(prompt, teacher config,
sample index), completions are written batch by batch as they arrive, and a
rerun (after a crash, a kill or on schedule) requests exactly the missing ids.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.progress import progress_bar
from flows.recipe import Inputs, Recipe
from generators.parsing import split_reasoning
from generators.teachers import Request, build_teacher, generation_id
from warehouse.db import Warehouse, now


@task(cache_policy=NO_CACHE)
def register_inputs(wh: Warehouse, inputs: Inputs, run_id: str) -> dict:
    """Store seeds, template versions and rendered prompts (existing ids are left as they are)."""
    stamp = now()
    seeds = [{"seed_id": s.seed_id, "domain": s.domain, "topic": s.topic, "split": s.split, "question": s.question,
              "reference": s.reference, "source_file": s.source_file, "source_line": s.source_line,
              "payload": s.payload, "run_id": run_id, "created_at": stamp} for s in inputs.seeds]
    templates = [{"template_id": t.template_id, "name": t.name, "domain": t.domain, "version": t.version,
                  "body": t.body, "source_file": t.source_file, "created_at": stamp} for t in inputs.templates.values()]
    prompts = [{**p.to_row(), "run_id": run_id, "created_at": stamp} for p in inputs.prompts]
    with wh.connect() as con:
        con.execute("BEGIN")
        counts = {"seeds": wh.insert("seeds", seeds, con=con), "templates": wh.insert("templates", templates, con=con),
                  "prompts": wh.insert("prompts", prompts, con=con)}
        con.execute("COMMIT")
    return counts


def pending_requests(wh: Warehouse, recipe: Recipe, inputs: Inputs) -> list[Request]:
    """Train prompts x sample indices whose generation id is not in the warehouse yet."""
    teacher_id = recipe.teacher.teacher_id
    prompts = sorted(inputs.split("train"), key=lambda p: p.prompt_id)[: recipe.max_prompts]
    have = {r["generation_id"] for r in wh.query("SELECT generation_id FROM generations WHERE teacher_id = ?",
                                                 [teacher_id])}
    wanted = [Request(generation_id(p.prompt_id, teacher_id, i), p.text, i)
              for p in prompts for i in range(recipe.teacher.n)]
    return [r for r in wanted if r.key not in have]


@task(cache_policy=NO_CACHE)
def generate(wh: Warehouse, recipe: Recipe, inputs: Inputs, run_id: str) -> dict:
    log = get_run_logger()
    requests = pending_requests(wh, recipe, inputs)
    wh.insert("teachers", [{**recipe.teacher.to_row(), "created_at": now()}])
    if not requests:
        log.info("generate: nothing pending for teacher %s", recipe.teacher.teacher_id)
        return {"requested": 0, "stored": 0}
    by_key = {r.key: r for r in requests}
    prompt_of = {generation_id(p.prompt_id, recipe.teacher.teacher_id, i): p.prompt_id
                 for p in inputs.prompts for i in range(recipe.teacher.n)}
    teacher = build_teacher(recipe.teacher)
    stored = tokens = 0
    try:
        with progress_bar("generate", total=len(requests)) as advance:
            for batch in teacher.generate(requests):
                rows = [_generation_row(c, by_key[c.key], prompt_of[c.key], recipe, run_id) for c in batch]
                stored += wh.insert("generations", rows)
                tokens += sum(c.completion_tokens for c in batch)
                advance(len(batch), tokens=tokens)
    finally:
        teacher.close()
    log.info("generate: %d requested, %d stored, %d completion tokens", len(requests), stored, tokens)
    return {"requested": len(requests), "stored": stored, "completion_tokens": tokens}


def _generation_row(c, request: Request, prompt_id: str, recipe: Recipe, run_id: str) -> dict:
    reasoning, answer = split_reasoning(c.text)
    return {"generation_id": c.key, "prompt_id": prompt_id, "teacher_id": recipe.teacher.teacher_id,
            "sample_index": request.sample_index, "raw": c.text, "reasoning": reasoning, "answer": answer,
            "finish_reason": c.finish_reason, "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens, "latency_s": c.latency_s, "cost_usd": c.cost_usd,
            "run_id": run_id, "created_at": now()}
