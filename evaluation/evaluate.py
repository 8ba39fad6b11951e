"""Evaluation: base student, trained student and teacher answer the held-out prompts.

Each model answers greedily and the same verifier that filtered the training
data scores the answers. One `evaluations` row per model (accuracy, mean
latency), one `evaluation_items` row per prompt and one `evaluation_metrics`
row per registered metric (`evaluation.metrics.METRICS`: accuracy with its 95% Wilson interval, and for
the student retention, speedup and exact McNemar tests against base and teacher on the same items), computed
once every contestant is recorded, so comparisons see their peers. An evaluation's id is
derived from what decides its outcome, so a rerun reuses finished rows. Two
roles that decode identically (the embedded teacher *is* the base student)
share one set of answers, and the row says so in `details.same_outputs_as`.
"""

from __future__ import annotations

from dataclasses import replace

from evaluation.answering import answer, scored_items
from evaluation.config import EvalConfig
from evaluation.contestants import Contestant
from evaluation.metrics import METRICS, Accuracy, Scored, compute_metrics
from warehouse import evaluations as store
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id


def evaluate(wh: Warehouse, players: list[Contestant], cfg: EvalConfig, run_id: str,
             verify_options: dict[str, dict] | None = None) -> list[dict]:
    """One row per player, in order, each with `metrics` ({name: value} for every registered metric).

    `verify_options`: the recipe's `verify:` (domain -> verifier options); non-default ones are part of the
    evaluation id, since they decide the scores."""
    prompts = store.eval_prompts(wh, cfg.split, cfg.limit)
    if not prompts:
        raise ValueError(f"no {cfg.split!r} prompts with references in the warehouse: run generate first")
    prompt_ids = [p["prompt_id"] for p in prompts]
    answered: dict[str, tuple[str, list[str]]] = {}  # decode key -> (role, responses)
    done: list[tuple[dict, Scored]] = []
    for player in players:
        key = player.decode_key(cfg)
        evaluation_id = stable_id(player.role, key, player.training_run_id, prompt_ids,
                                  *([verify_options] if verify_options else []))
        existing = store.find_evaluation(wh, evaluation_id)
        if existing:
            items = store.evaluation_items(wh, evaluation_id)
            done.append((existing, Scored(existing["role"], prompts, items, existing["mean_latency_s"])))
            continue
        shared_with, latency = None, None
        if key in answered:
            shared_with, responses = answered[key]
        else:
            responses, latency = answer(player, prompts, cfg)
            answered[key] = (player.role, responses)
        done.append(_record(wh, evaluation_id, player, prompts, responses, latency, shared_with, cfg, run_id,
                            verify_options or {}))
    peers = {scored.role: scored for _, scored in done}
    return [_complete(wh, row, replace(scored, peers=peers)) for row, scored in done]


def _record(wh: Warehouse, evaluation_id: str, player: Contestant, prompts: list[dict], responses: list[str],
            latency: float | None, shared_with: str | None, cfg: EvalConfig, run_id: str,
            verify_options: dict[str, dict]) -> tuple[dict, Scored]:
    """Score and store one contestant's answers (with the metrics that need no peer); its row and Scored."""
    items = scored_items(evaluation_id, prompts, responses, verify_options)
    scored = Scored(player.role, prompts, items, latency)
    metrics = compute_metrics(scored)
    details = {"max_tokens": cfg.max_tokens, "adapter": player.adapter}
    if shared_with:
        details["same_outputs_as"] = shared_with
    row = {"evaluation_id": evaluation_id, "role": player.role, "model": player.model,
           "training_run_id": player.training_run_id, "teacher_id": player.teacher_id, "split": cfg.split,
           "n": len(items), "correct": sum(i["passed"] for i in items), "accuracy": Accuracy().compute(scored),
           "mean_latency_s": latency, "details": details, "run_id": run_id, "created_at": now()}
    store.record_evaluation(wh, row, items, metrics)
    return row, scored


def _complete(wh: Warehouse, row: dict, scored: Scored) -> dict:
    """The row with every registered metric: those not stored yet (registered since) or stored as NULL (a
    peer contestant was missing then) are computed now, with this run's peers, from the stored items."""
    stored = store.metric_values(wh, row["evaluation_id"])
    todo = [name for name in METRICS if stored.get(name) is None]
    if todo:
        fresh = compute_metrics(scored, todo)
        changed = {k: v for k, v in fresh.items() if k not in stored or v is not None}
        store.set_metric_values(wh, row["evaluation_id"], changed)
        stored.update(changed)
    return {**row, "metrics": {name: stored[name] for name in METRICS}}
