"""`distill runs list | show`, `distill teachers`, and the `--dry-run` plan of `distill generate` and `distill run`.

All three only read: `runs` and `teachers` open the warehouse read-only; a dry run computes the same plan the
generate stage computes (generators/requests.py: the wanted generation ids less those stored, anti-joined in
DuckDB) and prices it with the recipe's price table (generators/teachers/budget.py), without building a
teacher, writing a row or starting Prefect.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from flows.errors import friendly
from generators.teachers import Teacher  # light: backends load only when built

runs_app = typer.Typer(help="Flow runs recorded in the warehouse: what ran, and what each run produced.",
                       no_args_is_help=True)
console = Console()
Warehouse_ = Annotated[str | None, typer.Option("--warehouse", "-w", envvar="DISTILL_WAREHOUSE",
                                                help="DuckDB file (default ./warehouse.duckdb)")]
Format_ = Annotated[str, typer.Option("--format", help="table | vertical | markdown | csv | json")]
RUN_COLUMNS = ["run_id", "flow", "recipe", "status", "started_at", "finished_at", "duration_s"]
TEACHER_COLUMNS = ["teacher_id", "backend", "model", "params", "generations", "verified_rate", "prompt_tokens",
                   "completion_tokens", "cost_usd", "with_topk_ids"]


@runs_app.command("list")
@friendly
def list_(limit: Annotated[int, typer.Option(help="latest runs to show")] = 20, fmt: Format_ = "table",
          warehouse: Warehouse_ = None) -> None:
    """The latest runs, newest first: id, flow, recipe, status, start, end and duration (so far, if running)."""
    from flows.summary import check_format, print_rows
    from warehouse.db import Warehouse
    from warehouse.runs import list_runs

    check_format(fmt)
    print_rows(console, list_runs(Warehouse(warehouse), limit), fmt, columns=RUN_COLUMNS)


@runs_app.command("show")
@friendly
def show(run_id: Annotated[str, typer.Argument(help="a run id, or a unique prefix of one")],
         fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
         warehouse: Warehouse_ = None) -> None:
    """One run: its row (recipe, status, error), the rows it wrote per table, and its failed requests."""
    from flows.cli_checks import Misuse
    from flows.summary import print_rows
    from warehouse.db import Warehouse
    from warehouse.runs import RunNotFound, run_detail

    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    try:
        detail = run_detail(Warehouse(warehouse), run_id)
    except RunNotFound as exc:
        raise Misuse(f"run {run_id!r}", str(exc), "pass an id (or a longer prefix) from `distill runs list`") \
            from None
    if fmt == "json":
        console.print_json(data=detail, default=str)
        return
    run = detail["run"]
    print_rows(console, [run], "vertical", columns=list(run))
    print_rows(console, [{"table": t, "rows": n} for t, n in detail["produced"].items()], "table",
               columns=["table", "rows"])
    if detail["failures"]:
        print_rows(console, detail["failures"], "table")


def teachers(fmt: Format_ = "table", warehouse: Warehouse_ = None) -> None:
    """Every teacher config in the warehouse: backend, model, sampling params, generations, verified rate
    (among verified generations), tokens, cost, and the generations with stored top-k token ids (what kd
    `source: stored` trains on)."""
    from flows.summary import check_format, print_rows
    from warehouse.db import Warehouse
    from warehouse.runs import teacher_stats

    check_format(fmt)
    rows = teacher_stats(Warehouse(warehouse))
    if fmt not in ("json", "csv"):  # the few-shot turns would fill the screen: their count stands for them
        rows = [{**r, "params": compact_params(r["params"])} for r in rows]
    print_rows(console, rows, fmt, columns=TEACHER_COLUMNS)


def compact_params(params: str | dict) -> str:
    """Sampling params on one line (`temperature=0.5 top_p=0.95 max_tokens=64 few_shot=5`): long values
    (few-shot turns, a system prompt) as a count or a length."""
    values = json.loads(params) if isinstance(params, str) else params
    parts = []
    for key, value in sorted(values.items()):
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, list):
            value = len(value)
        elif isinstance(value, str) and len(value) > 24:
            value = f"<{len(value)} chars>"
        parts.append(f"{key}={value}")
    return " ".join(parts)


# --- --dry-run ---


@contextmanager
def _planning_warehouse(path: str) -> Iterator:
    """The warehouse to plan against: the file when it exists (the plan is what it lacks), else an empty one in
    a temporary folder (everything is missing), so a dry run never creates the user's file."""
    from warehouse.db import Warehouse

    if Path(path).exists():
        yield Warehouse(path)
        return
    with tempfile.TemporaryDirectory(prefix="distill-dry-run-") as folder:
        empty = Warehouse(Path(folder) / "plan.duckdb")
        empty.init()
        yield empty


def dry_run_plan(recipe: str, warehouse: str | None, evaluates: bool = False) -> dict:
    """What generate would send: per teacher, the prompts, samples, estimated tokens and spend; per domain and
    template, the prompts and samples. Reads the warehouse (if any) to leave out what is stored. `evaluates`
    (`distill run`): also the teacher's answers to the held-out prompts, at most (a recorded evaluation is
    reused by the run, which this plan does not check)."""
    from flows.recipe import load_inputs, load_recipe
    from generators import requests as plans
    from warehouse.db import Warehouse

    cfg = load_recipe(recipe)
    inputs = load_inputs(cfg)
    path = Warehouse(warehouse).path
    with _planning_warehouse(path) as wh:
        plan, prompt_of = plans.pending_requests(wh, inputs.split("train"), cfg.teacher_for, cfg.max_prompts,
                                                 _synthesized(wh, cfg), cfg.synthesis.solutions
                                                 if cfg.synthesis else None)
        writers = {}
        if cfg.synthesis:
            writers, writer_prompt_of = plans.writer_requests(wh, inputs.knowledge_prompts, cfg.writer_for,
                                                              cfg.synthesis.problems_per_item)
            prompt_of = {**prompt_of, **writer_prompt_of}
        expected = _expected_tokens(wh, [*plan, *writers])
    prompts = {p.prompt_id: p for p in [*inputs.prompts, *inputs.knowledge_prompts]}
    stages = [("generate", t, reqs) for t, reqs in plan.items()]
    stages += [("write problems", t, reqs) for t, reqs in writers.items()]
    if evaluates and cfg.eval.teacher:
        greedy, answers = _teacher_eval_requests(cfg, inputs)
        prompt_of.update({r.key: r.key for r in answers})
        stages.append(("evaluate teacher (at most)", greedy, answers))
    teachers = [_teacher_line(t, reqs, prompt_of, cfg, expected, stage) for stage, t, reqs in stages]
    return {"recipe": cfg.name, "warehouse": path, "warehouse_exists": Path(path).exists(),
            "teachers": teachers, "by_template": _by_template(stages, prompt_of, prompts),
            "total": {k: sum(t[k] for t in teachers) for k in ("prompts", "samples", "prompt_tokens",
                                                                 "completion_tokens_max", "cost_usd_max",
                                                                 "cost_usd_expected")},
            "budget": {k: v for k, v in vars(cfg.budget).items() if v is not None}}


def _teacher_eval_requests(cfg, inputs):
    """The teacher as the eval stage runs it (greedy, `eval.max_tokens`; evaluation/contestants.py) and one
    request per held-out prompt with a reference (the first `eval.limit` by prompt id, as
    warehouse.evaluations.eval_prompts takes them), times 1 + `eval.samples`."""
    from dataclasses import replace

    from generators.teachers import Request

    ev = cfg.eval
    greedy = replace(cfg.teacher, temperature=0.0, top_p=1.0, seed=0, n=1, max_tokens=ev.max_tokens)
    held_out = sorted((p for p in inputs.split(ev.split) if p.seed.reference is not None), key=lambda p: p.prompt_id)
    held_out = held_out[:ev.limit] if ev.limit else held_out
    return greedy, [Request(p.prompt_id, p.text, i) for p in held_out for i in range(1 + ev.samples)]


def _synthesized(wh, cfg) -> list[dict]:
    """Problems a previous run synthesized (their solutions are planned too); none without synthesis."""
    from warehouse.synthesis import synthesized_prompts

    return synthesized_prompts(wh) if cfg.synthesis else []


def _expected_tokens(wh, teacher_cfgs) -> dict[str, float]:
    from warehouse.runs import mean_completion_tokens

    return mean_completion_tokens(wh, sorted({t.teacher_id for t in teacher_cfgs})) if teacher_cfgs else {}


def _teacher_line(teacher, requests, prompt_of: dict, cfg, expected: dict, stage: str) -> dict:
    """One teacher's share of the plan, priced as the budget reserves it: prompt tokens estimated as the budget
    does (`Teacher.prompt_estimate`), `max_tokens` per sample at most, and the teacher's mean stored answer
    length as the expected case (max_tokens when it has none)."""
    from generators.teachers import Budget

    chat = _ChatOnly(teacher)
    prompt_tokens = sum(chat.prompt_estimate(r.prompt) for r in requests)
    most = teacher.max_tokens * len(requests)
    likely = math.ceil(min(expected.get(teacher.teacher_id, teacher.max_tokens), teacher.max_tokens) * len(requests))
    price = Budget(cfg.budget, cfg.prices)
    return {"stage": stage, "teacher_id": teacher.teacher_id, "backend": teacher.backend, "model": teacher.model,
            "prompts": len({prompt_of[r.key] for r in requests}), "samples": len(requests),
            "prompt_tokens": prompt_tokens, "completion_tokens_max": most, "completion_tokens_expected": likely,
            "priced": teacher.model in cfg.prices,
            "cost_usd_max": round(price.cost(teacher.model, prompt_tokens, most), 6),
            "cost_usd_expected": round(price.cost(teacher.model, prompt_tokens, likely), 6)}


def _by_template(stages, prompt_of: dict, prompts: dict) -> list[dict]:
    """Prompts and samples per stage, domain and template (synthesized problems: rendered by a previous run)."""
    samples: Counter = Counter()
    distinct: dict[tuple, set] = {}
    for stage, _teacher, requests in stages:
        for r in requests:
            pid = prompt_of[r.key]
            p = prompts.get(pid)
            key = (stage, *((p.seed.domain, p.template.name) if p else ("synthesized", "-")))
            samples[key] += 1
            distinct.setdefault(key, set()).add(pid)
    return [{"stage": st, "domain": d, "template": t, "prompts": len(distinct[(st, d, t)]), "samples": n}
            for (st, d, t), n in samples.items()]


class _ChatOnly(Teacher):
    """A teacher that only builds chats, for `prompt_estimate`: a dry run never generates."""

    def generate(self, requests, budget=None):
        raise RuntimeError("a dry run does not call the teacher")


def print_plan(plan: dict) -> None:
    """The plan as two tables and a total line; says when nothing is pending."""
    from flows.summary import print_rows

    where = plan["warehouse"] if plan["warehouse_exists"] else f"{plan['warehouse']} (not created yet: all missing)"
    console.print(f"dry run of recipe {plan['recipe']} against {where}: nothing is sent or written", highlight=False,
                  soft_wrap=True)
    if not plan["teachers"]:
        console.print("nothing pending: every planned generation is stored", highlight=False)
        return
    short = {"stage": "stage", "model": "model", "prompts": "prompts", "samples": "samples", "prompt_tokens": "in tok",
             "completion_tokens_expected": "out tok exp", "completion_tokens_max": "out tok max",
             "cost_usd_expected": "$ exp", "cost_usd_max": "$ max"}
    print_rows(console, [{v: t[k] for k, v in short.items()} for t in plan["teachers"]], "table",
               columns=list(short.values()))
    print_rows(console, plan["by_template"], "table", columns=["stage", "domain", "template", "prompts", "samples"])
    t = plan["total"]
    unpriced = sorted({x["model"] for x in plan["teachers"] if not x["priced"]})
    console.print(f"total: {t['samples']} samples of {t['prompts']} prompts, ~{t['prompt_tokens']} prompt tokens, "
                  f"at most {t['completion_tokens_max']} completion tokens; spend ${t['cost_usd_expected']:.4f} "
                  f"expected, ${t['cost_usd_max']:.4f} at most"
                  + (f" (no price for {', '.join(unpriced)}: counted as $0)" if unpriced else "")
                  + (f"; budget caps {plan['budget']}" if plan["budget"] else ""), highlight=False, soft_wrap=True)
