"""Prefect flows: the whole factory, the scheduled refresh, and one flow per CLI stage.

Each flow validates its recipe before writing anything, records one `runs` row
(with Prefect's flow-run id) and calls the stage tasks in order. Every task is
idempotent through warehouse ids, so rerunning a flow after a crash resumes it.
Prefect's own result cache is off (NO_CACHE on the tasks): the warehouse, not a
cached return value, is the record of what was done.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from prefect import flow, get_run_logger

from flows.curate import curate
from flows.evaluate import evaluate
from flows.generate import generate, recover_journal, register_inputs
from flows.iterate import first_round, later_rounds, round_spec
from flows.recipe import Inputs, Recipe, check_credentials, load_inputs, load_recipe, student_configs
from flows.report import report_task
from flows.runs import tracked_run
from flows.snapshot import snapshot
from flows.synthesize import label_problems, write_problems
from flows.train import train
from flows.verify import verify
from generators.teachers import Budget
from warehouse import quality
from warehouse.db import Warehouse
from warehouse.lease import lease
from warehouse.snapshot_spec import SnapshotSpec
from warehouse.synthesis import synthesized_prompts


def _open(warehouse: str | None) -> Warehouse:
    wh = Warehouse(warehouse)
    wh.init()
    return wh


def _chart_path(wh: Warehouse) -> str:
    """The quality chart of the latest run, beside the warehouse file (also a Prefect artifact)."""
    return str(Path(wh.path).with_suffix(".report.svg"))


def _recipe_json(recipe: Recipe) -> dict:
    return {"source": recipe.source, **recipe.raw}


@flow(name="factory")
def factory(recipe: str = "quickstart", warehouse: str | None = None) -> dict:
    """Seeds -> prompts -> generations -> verdicts -> curated -> snapshot -> student -> evaluations."""
    cfg = load_recipe(recipe)
    inputs = load_inputs(cfg, evaluates=True)  # raises before anything is written
    check_credentials(cfg)
    wh = _open(warehouse)
    with tracked_run(wh, "factory", cfg.name, _recipe_json(cfg)) as run_id:
        summary = {"run_id": run_id, "recipe": cfg.name, **teacher_stages(wh, cfg, inputs, run_id)}
        summary["curate"] = curate(wh, run_id, cfg.curate)
        spec, name = round_spec(cfg, 1, [])  # the recipe's own unless it iterates (then its teachers are named)
        snap = snapshot(wh, spec, run_id, name)
        summary["snapshot"] = snap
        # One student per method (`train:` and `students:`), all on the same snapshot, evaluated side by side.
        summary["trained"] = [train(wh, snap["name"], settings, run_id) for settings in student_configs(cfg)]
        summary["train"] = summary["trained"][0]
        students = summary["trained"]
        if cfg.iterate.rounds > 1:  # iterated distillation (flows/iterate.py): each round's student teaches the next
            later = later_rounds(wh, cfg, inputs, run_id, summary["train"])
            summary["rounds"] = [first_round(wh, cfg, summary), *later]
            students = [*students, *(r["train"] for r in later)]
        summary["eval"] = evaluate(wh, cfg.eval, cfg.train.base_model,
                                   [t["training_run_id"] for t in students], cfg.teacher, run_id, cfg.verify)
        report_task(wh, run_id, chart_path=_chart_path(wh))  # last, so its evaluation panel shows this run's
    summary["totals"] = totals(wh, cfg)
    return summary


@flow(name="refresh")
def refresh(recipe: str = "quickstart", warehouse: str | None = None) -> dict:
    """The scheduled part: new seeds and prompts are generated, verified and curated."""
    return _data_stages("refresh", recipe, warehouse, with_curation=True)


@flow(name="generate")
def generate_flow(recipe: str = "quickstart", warehouse: str | None = None) -> dict:
    return _data_stages("generate", recipe, warehouse, with_curation=False)


def teacher_stages(wh: Warehouse, cfg: Recipe, inputs: Inputs, run_id: str) -> dict:
    """Register inputs, [write new problems], generate, [label them], verify: one budget for all of it, under
    the recipe's lease on the warehouse, so no second run plans (and pays for) the same requests."""
    with lease(wh, cfg.name, run_id) as stale:
        out = {"recovered": recover_journal(wh), "registered": register_inputs(wh, inputs, run_id)}
        if stale:
            out["lease_taken_over"] = stale
            get_run_logger().warning("took over the lease of recipe %s from a run that died: %s", cfg.name, stale)
        budget = Budget(cfg.budget, cfg.prices)
        synthesized = []
        if cfg.synthesis:
            out["synthesis"] = write_problems(wh, cfg, inputs, run_id, budget)
            synthesized = synthesized_prompts(wh)
        out["generate"] = generate(wh, cfg, inputs, run_id, budget, synthesized)
        if cfg.synthesis:
            out["labels"] = label_problems(wh, cfg, run_id)
        out["generate"]["spent"] = budget.spent()
        out["verify"] = verify(wh, run_id, cfg.verify)
    return out


def _data_stages(name: str, recipe: str, warehouse: str | None, with_curation: bool) -> dict:
    cfg = load_recipe(recipe)
    inputs = load_inputs(cfg)  # raises before anything is written
    check_credentials(cfg)
    wh = _open(warehouse)
    with tracked_run(wh, name, cfg.name, _recipe_json(cfg)) as run_id:
        out = teacher_stages(wh, cfg, inputs, run_id)
        if with_curation:
            out["curate"] = curate(wh, run_id, cfg.curate)
            report_task(wh, run_id, chart_path=_chart_path(wh))
        return out


@flow(name="curate")
def curate_flow(recipe: str = "quickstart", warehouse: str | None = None) -> dict:
    cfg = load_recipe(recipe)
    wh = _open(warehouse)
    with tracked_run(wh, "curate", cfg.name) as run_id:
        out = {"verify": verify(wh, run_id, cfg.verify), "curate": curate(wh, run_id, cfg.curate)}
        report_task(wh, run_id, chart_path=_chart_path(wh))
        return out


@flow(name="snapshot")
def snapshot_flow(spec: dict, warehouse: str | None = None, default_name: str = "snapshot") -> dict:
    wh = _open(warehouse)
    with tracked_run(wh, "snapshot") as run_id:
        return snapshot(wh, SnapshotSpec(**spec), run_id, default_name)


@flow(name="train")
def train_flow(snapshot_name: str, recipe: str = "quickstart", warehouse: str | None = None,
               method: str | None = None) -> dict:
    """Train on a snapshot with the recipe's `train:` settings and its `students:`; `method` (a key of
    training.methods.METHODS) trains that one method instead, with the `train:` section's shared settings."""
    cfg = load_recipe(recipe)
    students = student_configs(cfg, method)
    wh = _open(warehouse)
    with tracked_run(wh, "train", cfg.name, {"train": [asdict(s) for s in students]}) as run_id:
        results = [train(wh, snapshot_name, settings, run_id) for settings in students]
        return results[0] if len(results) == 1 else {**results[0], "students": results}


@flow(name="evaluate")
def eval_flow(training_run_id: str | None = None, recipe: str = "quickstart", warehouse: str | None = None) -> list:
    cfg = load_recipe(recipe)
    inputs = load_inputs(cfg, evaluates=True)  # raises before anything is written
    wh = _open(warehouse)
    with tracked_run(wh, "evaluate", cfg.name) as run_id:
        register_inputs(wh, inputs, run_id)  # the eval prompts, e.g. a public set no other flow registered
        return evaluate(wh, cfg.eval, cfg.train.base_model, training_run_id, cfg.teacher, run_id, cfg.verify)


def totals(wh: Warehouse, cfg: Recipe) -> dict:
    """Warehouse-wide figures for the summary table (for this recipe's teachers)."""
    return quality.totals(wh, [t.teacher_id for t in cfg.teachers])
