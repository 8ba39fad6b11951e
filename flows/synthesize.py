"""Problem synthesis tasks (see generators/synthesis.py for the method).

`write_problems` asks the writer teacher for new problems from the knowledge
prompts, reads one problem per response, drops near-copies and registers the
rest as train seeds and prompts. The generate stage then solves each
`synthesis.solutions` times, and `label_problems` turns the solutions into a
self-consistency label once all k are stored. Every step is keyed by ids
(writer generation -> problem -> seed -> prompt), so reruns redo nothing.

Orchestration only: planning is generators/requests.py, reading and labelling
problems generators/synthesis.py, their SQL warehouse/synthesis.py. This module
supplies what generators may not import: the verifiers that extract and compare
answers.
"""

from __future__ import annotations

from collections.abc import Callable

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.generate import ask_teacher
from flows.recipe import Inputs, Recipe
from generators import synthesis
from generators.requests import writer_requests
from generators.teachers import Budget
from verifiers import verifier_for
from verifiers.math import extract_answer
from warehouse.db import Warehouse


@task(cache_policy=NO_CACHE)
def write_problems(wh: Warehouse, recipe: Recipe, inputs: Inputs, run_id: str, budget: Budget) -> dict:
    """Ask the writers for the problems not written yet, then register every response not read yet."""
    cfg = recipe.synthesis
    stats = {"requested": 0, "accepted": 0, "near_copy": 0, "unparseable": 0}
    plan, prompt_of = writer_requests(wh, inputs.knowledge_prompts, recipe.writer_for, cfg.problems_per_item)
    for writer, requests in plan.items():
        stats["requested"] += len(requests)
        ask_teacher(wh, writer, requests, prompt_of, budget, run_id, label="write problems")
    stats.update(synthesis.register_problems(wh, inputs.knowledge_prompts, inputs.prompts, inputs.templates,
                                             cfg.near_copy_threshold, run_id))
    get_run_logger().info("synthesis: %(requested)d writer requests; new problems: %(accepted)d accepted, "
                          "%(near_copy)d near copies, %(unparseable)d unparseable", stats)
    return stats


@task(cache_policy=NO_CACHE)
def label_problems(wh: Warehouse, recipe: Recipe, run_id: str) -> dict:
    """Self-consistency labels for synthesized prompts whose k solutions are all stored."""
    cfg = recipe.synthesis

    def same_answer(domain: str) -> Callable[[str, str], bool]:
        """Two extracted answers agree when the domain's verifier passes one boxed against the other."""
        verifier = verifier_for(domain, **recipe.verify.get(domain, {}))
        return lambda a, b: verifier.verify(f"\\boxed{{{a}}}", b).passed

    stats = synthesis.label_problems(wh, recipe.teacher_for, cfg.solutions, cfg.min_agreement, same_answer,
                                     _final_answer, run_id)
    get_run_logger().info("synthesis: %(labelled)d problems labelled, %(accepted)d reached the agreement", stats)
    return stats


def _final_answer(text: str) -> str | None:
    return extract_answer(text)[0]
