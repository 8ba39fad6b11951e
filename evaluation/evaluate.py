"""Evaluation: the base student, each trained student and the teacher answer the held-out prompts.

Each model answers greedily and the same verifier that filtered the training
data scores the answers. One `evaluations` row per model (accuracy, mean
latency), one `evaluation_items` row per prompt and one `evaluation_metrics`
row per registered metric (`evaluation.metrics.METRICS`: accuracy with its 95%
Wilson interval; for each student retention, speedup and exact McNemar tests
against base and teacher on the same items, and the items that flip against the
base), computed once every contestant is recorded, so comparisons see their peers.

Two options add work per contestant, kept per item so a rerun adds only what is missing:
- `eval.samples: n` samples n answers per prompt at `eval.sample_temperature` (`evaluation_samples`)
  for pass@1, pass@n and maj@n;
- `eval.forgetting` scores the base model and each student (not the teacher) on the likelihood
  probes of `evaluation/probes.py` (`evaluation_probes`) for the forgetting metrics.

An evaluation's id is derived from what decides its greedy outcome (the contestant's kind, how it
decodes, its training run, the prompts, non-default verifier options), so a rerun reuses finished
rows, and a student evaluated alone or beside other students is the same evaluation. Two roles that
decode identically (the embedded teacher *is* the base student) share one set of answers, and the
row says so in `details.same_outputs_as`. Metrics are computed again on every run from the stored
rows and the run's peers; a value that cannot be computed in this run (a peer is missing) keeps
what an earlier run stored.
"""

from __future__ import annotations

import json
from dataclasses import replace

from evaluation import probes
from evaluation.answering import answer, probe, sample, scored_items, verify_all
from evaluation.config import EvalConfig
from evaluation.contestants import Contestant
from evaluation.metrics import Accuracy, Scored, compute_metrics, ordered
from generators.ask import Progress, no_progress
from warehouse import evaluations as store
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id


def evaluate(wh: Warehouse, players: list[Contestant], cfg: EvalConfig, run_id: str,
             verify_options: dict[str, dict] | None = None, progress: Progress = no_progress) -> list[dict]:
    """One row per player, in order, each with `metrics` ({name: value} for every registered metric).

    `verify_options`: the recipe's `verify:` (domain -> verifier options); non-default ones are part of the
    evaluation id, since they decide the scores. `progress`: see `evaluation.answering`."""
    prompts = store.eval_prompts(wh, cfg.split, cfg.limit)
    if not prompts:
        raise ValueError(f"no {cfg.split!r} prompts with references in the warehouse: run generate first")
    roles = [p.role for p in players]
    if len(set(roles)) != len(roles):
        raise ValueError(f"contestant roles {roles} repeat: each needs its own role to be compared")
    answered: dict[str, tuple[str, list[str]]] = {}  # decode key -> (role, responses)
    done: list[tuple[dict, Scored]] = []
    for player in players:
        row, scored = _greedy(wh, player, prompts, cfg, run_id, verify_options or {}, answered, progress)
        scored = replace(scored, samples=_samples(wh, row["evaluation_id"], player, prompts, cfg,
                                                  verify_options or {}, progress),
                         probes=_probes(wh, row["evaluation_id"], player, cfg, progress))
        done.append((row, scored))
    peers = {scored.role: scored for _, scored in done}
    return [_complete(wh, row, replace(scored, peers=peers)) for row, scored in done]


def _greedy(wh: Warehouse, player: Contestant, prompts: list[dict], cfg: EvalConfig, run_id: str,
            verify_options: dict[str, dict], answered: dict[str, tuple[str, list[str]]],
            progress: Progress) -> tuple[dict, Scored]:
    """The contestant's recorded greedy evaluation, answering (or sharing answers) only when none is stored."""
    key = player.decode_key(cfg)
    evaluation_id = stable_id(player.kind, key, player.training_run_id, [p["prompt_id"] for p in prompts],
                              *([verify_options] if verify_options else []))
    existing = store.find_evaluation(wh, evaluation_id)
    if existing:
        items = store.evaluation_items(wh, evaluation_id)
        details = existing["details"] if isinstance(existing["details"], dict) else json.loads(existing["details"] or "{}")
        return {**existing, "role": player.role}, Scored(player.role, prompts, items, existing["mean_latency_s"],
                                                         tokens_per_s=details.get("tokens_per_s"))
    shared_with, latency, rate = None, None, None
    if key in answered:
        shared_with, responses = answered[key]
    else:
        responses, latency, rate = answer(player, prompts, cfg, progress)
        answered[key] = (player.role, responses)
    return _record(wh, evaluation_id, player, prompts, responses, (latency, rate), shared_with, cfg, run_id,
                   verify_options)


def _record(wh: Warehouse, evaluation_id: str, player: Contestant, prompts: list[dict], responses: list[str],
            timing: tuple[float | None, float | None], shared_with: str | None, cfg: EvalConfig, run_id: str,
            verify_options: dict[str, dict]) -> tuple[dict, Scored]:
    """Score and store one contestant's answers (with the metrics that need no peer); its row and Scored.
    The stored `role` is the contestant's kind (base | student | teacher); the returned row carries its role.
    `timing`: (mean latency, tokens/s), both None when the answers were shared and not timed again."""
    latency, rate = timing
    items = scored_items(evaluation_id, prompts, responses, verify_options)
    scored = Scored(player.role, prompts, items, latency, tokens_per_s=rate)
    metrics = compute_metrics(scored)
    details = {"max_tokens": cfg.max_tokens, "adapter": player.adapter, "tokens_per_s": rate}
    if player.method:
        details["method"] = player.method
    if shared_with:
        details["same_outputs_as"] = shared_with
    row = {"evaluation_id": evaluation_id, "role": player.kind, "model": player.model,
           "training_run_id": player.training_run_id, "teacher_id": player.teacher_id, "split": cfg.split,
           "n": len(items), "correct": sum(i["passed"] for i in items), "accuracy": Accuracy().compute(scored),
           "mean_latency_s": latency, "details": details, "run_id": run_id, "created_at": now()}
    store.record_evaluation(wh, row, items, metrics)
    return {**row, "role": player.role}, scored


def _samples(wh: Warehouse, evaluation_id: str, player: Contestant, prompts: list[dict], cfg: EvalConfig,
             verify_options: dict[str, dict], progress: Progress) -> list[dict]:
    """`cfg.samples` scored samples per prompt at the eval's temperature: stored ones, plus the missing ones."""
    if not cfg.samples:
        return []
    stored = store.evaluation_samples(wh, evaluation_id, cfg.sample_temperature, cfg.samples)
    new = sample(player, prompts, cfg, {(r["prompt_id"], r["sample_index"]) for r in stored}, progress)
    if not new:
        return stored
    verdicts = verify_all([p for p, _, _ in new], [text for _, _, text in new], verify_options)
    store.record_samples(wh, [
        {"evaluation_id": evaluation_id, "temperature": cfg.sample_temperature, "prompt_id": p["prompt_id"],
         "sample_index": i, "response": text, "passed": v.passed, "reason": v.reason, "extracted": v.extracted}
        for (p, i, text), v in zip(new, verdicts)])
    return store.evaluation_samples(wh, evaluation_id, cfg.sample_temperature, cfg.samples)


def _probes(wh: Warehouse, evaluation_id: str, player: Contestant, cfg: EvalConfig,
            progress: Progress) -> dict[str, list[dict]]:
    """Probe name -> scored rows of its first items (all held-out general rows, `cfg.probe_limit` per
    multiple-choice probe), for the base and each local student when `cfg.forgetting`; else {}."""
    if not cfg.forgetting or player.kind == "teacher" or not player.local:
        return {}
    wanted = {name: probes.probe_items(name, cfg.probe_limit if name != "general_nll" else None,
                                       cfg.general_heldout) for name in probes.PROBES}
    stored = {name: {r["item_id"]: r for r in store.probe_rows(wh, evaluation_id, name)} for name in wanted}
    todo = {name: [i for i in items if i["item_id"] not in stored[name]] for name, items in wanted.items()}
    todo = {name: items for name, items in todo.items() if items}
    if todo:
        rows = [{**r, "evaluation_id": evaluation_id} for r in probe(player, todo, cfg.batch_size, progress)]
        store.record_probe_rows(wh, rows)
        for r in rows:
            stored[r["probe"]][r["item_id"]] = r
    return {name: [stored[name][i["item_id"]] for i in items] for name, items in wanted.items()}


def _complete(wh: Warehouse, row: dict, scored: Scored) -> dict:
    """The row with every registered metric, computed again with this run's peers, samples and probes; a
    value this run cannot compute (None) keeps what is stored (a peer present in an earlier run)."""
    stored = store.metric_values(wh, row["evaluation_id"])
    fresh = compute_metrics(scored)
    changed = {k: v for k, v in fresh.items() if k not in stored or (v is not None and v != stored[k])}
    store.set_metric_values(wh, row["evaluation_id"], changed)
    stored.update(changed)
    return {**row, "metrics": ordered(stored)}
