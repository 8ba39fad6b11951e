"""Stage 1-2 tasks: register seeds, templates and prompts; ask the teacher for what is missing.

Orchestration only. Planning is `generators/requests.py` (each rerun requests
exactly the generation ids the warehouse lacks), asking a teacher is
`generators/ask.py`, and storage, with the journal that makes a kill -9 lose
nothing received, is `warehouse/generations.py` and `warehouse/journal.py`.
Each domain goes to its own teacher when the recipe routes it (`teachers:`);
one budget spans the whole run.
"""

from __future__ import annotations

from collections import Counter

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.progress import progress_bar
from flows.recipe import Inputs, Recipe
from generators import ask
from generators import requests as plans
from generators.rows import input_rows
from generators.teachers import Budget, Request, TeacherConfig
from warehouse import generations
from warehouse.db import Warehouse
from warehouse.journal import recover


@task(cache_policy=NO_CACHE)
def register_inputs(wh: Warehouse, inputs: Inputs, run_id: str) -> dict:
    """Store seeds, template versions and rendered prompts (existing ids are left as they are)."""
    knowledge = inputs.knowledge_prompts
    rows = input_rows(seeds=[*inputs.seeds, *(p.seed for p in knowledge)],
                      templates=[*(p.template for p in knowledge), *inputs.templates.values()],
                      prompts=[*inputs.prompts, *knowledge], run_id=run_id)
    return generations.register_inputs(wh, **rows)


def pending_requests(wh: Warehouse, recipe: Recipe, inputs: Inputs,
                     synthesized: list[dict] = ()) -> tuple[dict[TeacherConfig, list[Request]], dict[str, str]]:
    """Per teacher, train prompts x sample indices whose generation id is not in the warehouse yet,
    and the prompt id of every generation id asked for (see generators/requests.py)."""
    solutions = recipe.synthesis.solutions if recipe.synthesis else None
    return plans.pending_requests(wh, inputs.split("train"), recipe.teacher_for, recipe.max_prompts,
                                  synthesized, solutions)


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
    failed_types: Counter[str] = Counter()
    if not plan:
        log.info("generate: nothing pending")
    for cfg, requests in plan.items():
        if budget.stopped:
            break
        stats = ask_teacher(wh, cfg, requests, prompt_of, budget, run_id)
        for k in ("stored", "failed", "completion_tokens"):
            out[k] += stats[k]
        failed_types.update(stats["failed_types"])
    out["failed_types"] = dict(failed_types.most_common())
    if budget.stopped:
        log.warning("generate stopped: %s; %d requests stay pending for the next run", budget.stopped,
                    out["requested"] - out["stored"] - out["failed"])
    if out["failed"]:
        log.warning(failure_warning(out))
    log.info("generate: %(requested)d requested, %(stored)d stored, %(failed)d failed, "
             "%(completion_tokens)d completion tokens", out)
    return out


def failure_warning(out: dict) -> str:
    """One line for a run whose requests failed their last attempt: how many, the main error types, what to do."""
    types = ", ".join(f"{kind} {n}" for kind, n in list(out["failed_types"].items())[:3])
    return (f"{out['failed']} requests failed after their last attempt ({types}); they stay pending: "
            f"rerun to retry (each error is a row of the request_failures table)")


def ask_teacher(wh: Warehouse, cfg: TeacherConfig, requests: list[Request], prompt_of: dict, budget: Budget,
                run_id: str, label: str = "generate") -> dict:
    """`generators.ask.ask_teacher` with a progress bar (rich on a terminal, log lines otherwise)."""
    return ask.ask_teacher(wh, cfg, requests, prompt_of, budget, run_id, label, progress=progress_bar)
