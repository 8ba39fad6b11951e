"""Evaluation: base student, trained student and teacher answer the held-out prompts.

Each model answers greedily and the same verifier that filtered the training
data scores the answers. One `evaluations` row per model (accuracy, mean
latency) and one `evaluation_items` row per prompt. An evaluation's id is
derived from what decides its outcome, so a rerun reuses finished rows. Two
roles that decode identically (the embedded teacher *is* the base student)
share one set of answers, and the row says so in `details.same_outputs_as`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from evaluation.config import EvalConfig
from generators.teachers import Request, TeacherConfig, build_teacher
from generators.teachers.hf import TransformersTeacher
from verifiers import verifier_for
from verifiers.base import Verdict
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id


@dataclass(frozen=True)
class Contestant:
    role: str  # base | student | teacher
    config: TeacherConfig  # how it answers; evaluation forces greedy decoding
    adapter: str | None = None  # LoRA directory merged into `config.model` (transformers only)
    training_run_id: str | None = None
    teacher_id: str | None = None

    @property
    def model(self) -> str:
        return self.config.model

    def greedy(self, cfg: EvalConfig) -> TeacherConfig:
        return replace(self.config, temperature=0.0, top_p=1.0, seed=0, n=1, max_tokens=cfg.max_tokens,
                       batch_size=cfg.batch_size)

    def decode_key(self, cfg: EvalConfig) -> str:
        """Equal keys decode identically, so their answers are computed once."""
        return stable_id(self.greedy(cfg).teacher_id, self.adapter)


def contestants(wh: Warehouse, training_run_id: str | None, teacher: TeacherConfig | None,
                base_model: str) -> list[Contestant]:
    out = [Contestant("base", TeacherConfig(model=base_model))]
    if training_run_id:
        run = wh.query("SELECT * FROM training_runs WHERE training_run_id = ?", [training_run_id])[0]
        lora = json.loads(run["config"])["lora"]
        student = TeacherConfig(model=run["base_model"] if lora else run["output_dir"])
        out.append(Contestant("student", student, adapter=run["output_dir"] if lora else None,
                              training_run_id=training_run_id))
    if teacher is not None:
        out.append(Contestant("teacher", teacher, teacher_id=teacher.teacher_id))
    return out


def eval_prompts(wh: Warehouse, cfg: EvalConfig) -> list[dict]:
    rows = wh.query("SELECT prompt_id, text, reference, domain FROM prompts WHERE split = ? "
                    "AND reference IS NOT NULL ORDER BY prompt_id", [cfg.split])
    return rows[: cfg.limit] if cfg.limit else rows


def evaluate(wh: Warehouse, players: list[Contestant], cfg: EvalConfig, run_id: str) -> list[dict]:
    prompts = eval_prompts(wh, cfg)
    if not prompts:
        raise ValueError(f"no {cfg.split!r} prompts with references in the warehouse: run generate first")
    prompt_ids = [p["prompt_id"] for p in prompts]
    answered: dict[str, tuple[str, list[str]]] = {}  # decode key -> (role, responses)
    results = []
    for player in players:
        key = player.decode_key(cfg)
        evaluation_id = stable_id(player.role, key, player.training_run_id, prompt_ids)
        existing = wh.query("SELECT * FROM evaluations WHERE evaluation_id = ?", [evaluation_id])
        if existing:
            results.append(existing[0])
            continue
        shared_with, latency = None, None
        if key in answered:
            shared_with, responses = answered[key]
        else:
            responses, latency = _answer(player, prompts, cfg)
            answered[key] = (player.role, responses)
        results.append(_record(wh, evaluation_id, player, prompts, responses, latency, shared_with, cfg, run_id))
    return results


def _answer(player: Contestant, prompts: list[dict], cfg: EvalConfig) -> tuple[list[str], float]:
    greedy = player.greedy(cfg)
    teacher = TransformersTeacher(greedy, adapter=player.adapter) if player.adapter else build_teacher(greedy)
    try:
        done = {c.key: c for batch in teacher.generate([Request(p["prompt_id"], p["text"]) for p in prompts])
                for c in batch}
    finally:
        teacher.close()
    latency = sum(c.latency_s for c in done.values()) / len(done)
    return [done[p["prompt_id"]].text for p in prompts], latency


def _record(wh: Warehouse, evaluation_id: str, player: Contestant, prompts: list[dict], responses: list[str],
            latency: float | None, shared_with: str | None, cfg: EvalConfig, run_id: str) -> dict:
    items = []
    for prompt, response, verdict in zip(prompts, responses, verify_all(prompts, responses)):
        items.append({"evaluation_id": evaluation_id, "prompt_id": prompt["prompt_id"], "response": response,
                      "passed": verdict.passed, "reason": verdict.reason, "extracted": verdict.extracted})
    correct = sum(i["passed"] for i in items)
    details = {"max_tokens": cfg.max_tokens, "adapter": player.adapter}
    if shared_with:
        details["same_outputs_as"] = shared_with
    row = {"evaluation_id": evaluation_id, "role": player.role, "model": player.model,
           "training_run_id": player.training_run_id, "teacher_id": player.teacher_id, "split": cfg.split,
           "n": len(items), "correct": correct, "accuracy": correct / len(items), "mean_latency_s": latency,
           "details": details, "run_id": run_id, "created_at": now()}
    with wh.transaction() as con:
        wh.insert("evaluation_items", items, con=con)
        wh.insert("evaluations", [row], con=con)
    return row


def verify_all(prompts: list[dict], responses: list[str]) -> list[Verdict]:
    """Verdicts in input order, one verifier batch per domain."""
    verdicts: dict[int, Verdict] = {}
    for domain in {p["domain"] for p in prompts}:
        idx = [i for i, p in enumerate(prompts) if p["domain"] == domain]
        batch = verifier_for(domain).verify_batch([(responses[i], prompts[i]["reference"]) for i in idx])
        verdicts.update(zip(idx, batch))
    return [verdicts[i] for i in range(len(prompts))]
