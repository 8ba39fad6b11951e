"""Request planning: which (prompt, teacher, sample index) to ask for, given what the warehouse holds.

A generation's id is hash(prompt, teacher config, sample index), so planning is
a set difference: every id a stage wants, less the ids already stored
(`warehouse.generations.missing`, computed in DuckDB). Failed requests have no
generation row, so they are planned again. Teachers come from a
`teacher_for(domain)` callable, so a recipe can route each domain to its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from generators.teachers import Request, TeacherConfig, generation_id
from generators.templates import Prompt
from warehouse import generations
from warehouse.db import Warehouse

Plan = dict[TeacherConfig, list[Request]]


@dataclass(frozen=True)
class Wanted:
    """A prompt to ask for `samples` answers (None: the teacher's `n`)."""

    prompt_id: str
    text: str
    domain: str
    samples: int | None = None


def plan_requests(wh: Warehouse, wanted: Iterable[Wanted],
                  teacher_for: Callable[[str], TeacherConfig]) -> tuple[Plan, dict[str, str]]:
    """Per teacher (in order of first use), the requests whose generation id is not stored yet, and the
    prompt id of every generation id wanted (stored or not)."""
    keyed = [(w, cfg, i, generation_id(w.prompt_id, cfg.teacher_id, i))
             for w in wanted for cfg in [teacher_for(w.domain)] for i in range(w.samples or cfg.n)]
    todo = generations.missing(wh, [key for *_, key in keyed])
    plan: Plan = {}
    for w, cfg, i, key in keyed:
        plan.setdefault(cfg, [])
        if key in todo:
            plan[cfg].append(Request(key, w.text, i))
    return {cfg: requests for cfg, requests in plan.items() if requests}, {key: w.prompt_id for w, *_, key in keyed}


def pending_requests(wh: Warehouse, train_prompts: Sequence[Prompt], teacher_for: Callable[[str], TeacherConfig],
                     max_prompts: int | None = None, synthesized: Sequence[dict] = (),
                     solutions: int | None = None) -> tuple[Plan, dict[str, str]]:
    """The generate stage's plan: the first `max_prompts` train prompts by id, the teacher's `n` samples
    each, plus `solutions` samples of each synthesized problem (`synthesized`: prompt_id, text, domain)."""
    prompts = sorted(train_prompts, key=lambda p: p.prompt_id)[:max_prompts]
    wanted = [Wanted(p.prompt_id, p.text, p.seed.domain) for p in prompts]
    wanted += [Wanted(s["prompt_id"], s["text"], s["domain"], solutions) for s in synthesized]
    return plan_requests(wh, wanted, teacher_for)


def writer_requests(wh: Warehouse, knowledge_prompts: Sequence[Prompt], writer_for: Callable[[str], TeacherConfig],
                    problems_per_item: int) -> tuple[Plan, dict[str, str]]:
    """The synthesis stage's plan: `problems_per_item` writer samples per knowledge prompt."""
    wanted = [Wanted(p.prompt_id, p.text, p.seed.domain, problems_per_item) for p in knowledge_prompts]
    return plan_requests(wh, wanted, writer_for)
