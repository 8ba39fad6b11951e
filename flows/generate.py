"""Stage 1-2: register seeds, templates and prompts; ask the teacher for what is missing.

Idempotent by construction: a generation's id is hash(prompt, teacher config,
sample index), and a rerun (after a crash, a kill or on schedule) requests
exactly the ids the warehouse lacks. Each answer is appended to a journal the
moment it arrives and inserted with its batch (every second or 256 rows), so a
kill -9 loses nothing that was received (see warehouse/journal.py). Requests
that failed their last attempt are recorded in `request_failures` and pending
again for the next run. Each domain goes to its own teacher when the recipe
routes it (`teachers:`); one budget spans the whole run.
"""

from __future__ import annotations

import time

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.progress import progress_bar
from flows.recipe import Inputs, Recipe
from generators.parsing import split_reasoning
from generators.teachers import Budget, Completion, Failure, Request, TeacherConfig, build_teacher, generation_id
from warehouse.db import Warehouse
from warehouse.ids import now
from warehouse.journal import Journal, recover


@task(cache_policy=NO_CACHE)
def register_inputs(wh: Warehouse, inputs: Inputs, run_id: str) -> dict:
    """Store seeds, template versions and rendered prompts (existing ids are left as they are)."""
    stamp = now()
    all_seeds = [*inputs.seeds, *(p.seed for p in inputs.knowledge_prompts)]
    seeds = [{"seed_id": s.seed_id, "domain": s.domain, "topic": s.topic, "split": s.split, "question": s.question,
              "reference": s.reference, "source_file": s.source_file, "source_line": s.source_line,
              "payload": s.payload, "run_id": run_id, "created_at": stamp} for s in all_seeds]
    templates = {p.template.template_id: p.template for p in inputs.knowledge_prompts} | \
        {t.template_id: t for t in inputs.templates.values()}
    templates = [{"template_id": t.template_id, "name": t.name, "domain": t.domain, "version": t.version,
                  "body": t.body, "source_file": t.source_file, "created_at": stamp} for t in templates.values()]
    prompts = [{**p.to_row(), "run_id": run_id, "created_at": stamp}
               for p in [*inputs.prompts, *inputs.knowledge_prompts]]
    with wh.transaction() as con:
        counts = {"seeds": wh.insert("seeds", seeds, con=con), "templates": wh.insert("templates", templates, con=con),
                  "prompts": wh.insert("prompts", prompts, con=con)}
    return counts


def pending_requests(wh: Warehouse, recipe: Recipe, inputs: Inputs,
                     synthesized: list[dict] = ()) -> tuple[dict[TeacherConfig, list[Request]], dict[str, str]]:
    """Per teacher, train prompts x sample indices whose generation id is not in the warehouse yet,
    and the prompt id of every generation id asked for.

    Synthesized problems (`synthesized`: prompt_id, text, domain) get `synthesis.solutions`
    samples each. Failed requests have no generation row, so they are pending again.
    """
    prompts = sorted(inputs.split("train"), key=lambda p: p.prompt_id)[: recipe.max_prompts]
    wanted = [(p.prompt_id, p.text, p.seed.domain, None) for p in prompts]
    wanted += [(s["prompt_id"], s["text"], s["domain"], recipe.synthesis.solutions) for s in synthesized]
    have = {r["generation_id"] for r in wh.query("SELECT generation_id FROM generations")}
    plan: dict[TeacherConfig, list[Request]] = {}
    prompt_of: dict[str, str] = {}
    for prompt_id, text, domain, n in wanted:
        cfg = recipe.teacher_for(domain)
        todo = plan.setdefault(cfg, [])
        for i in range(n or cfg.n):
            key = generation_id(prompt_id, cfg.teacher_id, i)
            prompt_of[key] = prompt_id
            if key not in have:
                todo.append(Request(key, text, i))
    return {cfg: todo for cfg, todo in plan.items() if todo}, prompt_of


@task(cache_policy=NO_CACHE)
def recover_journal(wh: Warehouse) -> dict:
    """Store what an interrupted run received but had not committed (see warehouse/journal.py)."""
    recovered = recover(wh)
    if recovered:
        get_run_logger().info("stored %s rows left in the journal by an interrupted run", recovered)
    return recovered


@task(cache_policy=NO_CACHE)
def generate(wh: Warehouse, recipe: Recipe, inputs: Inputs, run_id: str, budget: Budget | None = None,
             synthesized: list[dict] = ()) -> dict:
    """Ask each teacher for its pending requests, storing answers as they arrive; stop at the budget."""
    log = get_run_logger()
    budget = budget if budget is not None else Budget(recipe.budget, recipe.prices)
    plan, prompt_of = pending_requests(wh, recipe, inputs, synthesized)
    out = {"requested": sum(map(len, plan.values())), "stored": 0, "failed": 0, "completion_tokens": 0}
    if not plan:
        log.info("generate: nothing pending")
    for cfg, requests in plan.items():
        if budget.stopped:
            break
        stats = ask_teacher(wh, cfg, requests, prompt_of, budget, run_id)
        for k in ("stored", "failed", "completion_tokens"):
            out[k] += stats[k]
    if budget.stopped:
        log.warning("generate stopped: %s; %d requests stay pending for the next run", budget.stopped,
                    out["requested"] - out["stored"] - out["failed"])
    log.info("generate: %(requested)d requested, %(stored)d stored, %(failed)d failed, "
             "%(completion_tokens)d completion tokens", out)
    return out


def ask_teacher(wh: Warehouse, cfg: TeacherConfig, requests: list[Request], prompt_of: dict, budget: Budget,
                run_id: str, label: str = "generate") -> dict:
    """Send `requests` to one teacher; journal, store and count what comes back."""
    wh.insert("teachers", [{**cfg.to_row(), "created_at": now()}])
    by_key = {r.key: r for r in requests}
    teacher = build_teacher(cfg)
    tokens = 0
    try:
        with progress_bar(f"{label} ({cfg.model})", total=len(requests)) as advance, Journal(wh, run_id) as journal:
            pending = _Pending(wh, journal)
            try:
                for batch in teacher.generate(requests, budget):
                    done = [c for c in batch if isinstance(c, Completion)]
                    pending.add([_generation_row(c, by_key[c.key], prompt_of[c.key], cfg, run_id) for c in done],
                                [_logprobs_row(c) for c in done if c.logprobs],
                                [_failure_row(f, by_key[f.key], prompt_of[f.key], cfg, run_id)
                                 for f in batch if isinstance(f, Failure)])
                    tokens += sum(c.completion_tokens for c in done)
                    advance(len(batch), tokens=tokens, errors=getattr(teacher, "errors", None),
                            spend=budget.cost_usd if budget.prices else None)
            finally:
                pending.flush()  # what arrived is stored even when the teacher fails midway
    finally:
        teacher.close()
    return {"stored": pending.stored, "failed": pending.failed, "completion_tokens": tokens}


class _Pending:
    """Rows received but not yet inserted: journaled at once, inserted every second or 256 rows."""

    def __init__(self, wh: Warehouse, journal: Journal, every_s: float = 1.0, max_rows: int = 256):
        self.wh, self.journal = wh, journal
        self.every_s, self.max_rows = every_s, max_rows
        self.generations: list[dict] = []
        self.logprobs: list[dict] = []
        self.failures: list[dict] = []
        self.stored = self.failed = 0
        self.last = time.monotonic()

    def add(self, generations: list[dict], logprobs: list[dict], failures: list[dict]) -> None:
        self.journal.append("generations", generations)
        self.journal.append("generation_logprobs", logprobs)
        self.generations += generations
        self.logprobs += logprobs
        self.failures += failures
        if len(self.generations) + len(self.failures) >= self.max_rows or time.monotonic() - self.last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        with self.wh.transaction() as con:
            self.stored += self.wh.insert("generations", self.generations, con=con)
            self.wh.insert("generation_logprobs", self.logprobs, con=con)
            if self.generations:
                con.execute("UPDATE request_failures SET resolved_at = now() "
                            "WHERE resolved_at IS NULL AND generation_id IN (SELECT unnest(?))",
                            [[g["generation_id"] for g in self.generations]])
            for f in self.failures:
                con.execute(_UPSERT_FAILURE, [f[k] for k in _FAILURE_COLUMNS])
        self.failed += len(self.failures)
        self.journal.clear()
        self.generations, self.logprobs, self.failures = [], [], []
        self.last = time.monotonic()


_FAILURE_COLUMNS = ("generation_id", "prompt_id", "teacher_id", "sample_index", "error_type", "status_code",
                    "message", "attempts", "run_id", "first_failed_at", "last_failed_at")
_UPSERT_FAILURE = f"""
    INSERT INTO request_failures ({", ".join(_FAILURE_COLUMNS)}) VALUES ({", ".join("?" * len(_FAILURE_COLUMNS))})
    ON CONFLICT (generation_id) DO UPDATE SET
      error_type = excluded.error_type, status_code = excluded.status_code, message = excluded.message,
      attempts = request_failures.attempts + excluded.attempts, run_id = excluded.run_id,
      last_failed_at = excluded.last_failed_at, resolved_at = NULL
"""


def _generation_row(c: Completion, request: Request, prompt_id: str, cfg: TeacherConfig, run_id: str) -> dict:
    if c.reasoning is not None:  # the API gave the reasoning apart: the text is the answer
        reasoning, answer = c.reasoning.strip(), c.text.strip()
    else:
        reasoning, answer = split_reasoning(c.text)
    return {"generation_id": c.key, "prompt_id": prompt_id, "teacher_id": cfg.teacher_id,
            "sample_index": request.sample_index, "raw": c.text, "reasoning": reasoning, "answer": answer,
            "finish_reason": c.finish_reason, "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens, "latency_s": c.latency_s, "cost_usd": c.cost_usd,
            "run_id": run_id, "created_at": now()}


def _logprobs_row(c: Completion) -> dict:
    return {"generation_id": c.key, "top_k": max((len(t) for t in c.logprobs["top_tokens"]), default=0),
            **c.logprobs}


def _failure_row(f: Failure, request: Request, prompt_id: str, cfg: TeacherConfig, run_id: str) -> dict:
    stamp = now()
    return {"generation_id": f.key, "prompt_id": prompt_id, "teacher_id": cfg.teacher_id,
            "sample_index": request.sample_index, "error_type": f.error_type, "status_code": f.status_code,
            "message": f.message, "attempts": f.attempts, "run_id": run_id, "first_failed_at": stamp,
            "last_failed_at": stamp}
