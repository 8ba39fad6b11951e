"""Who is evaluated: the base student, the trained student and the teacher, each as a greedy decoder."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from evaluation.config import EvalConfig
from generators.teachers import TeacherConfig
from warehouse.db import Warehouse
from warehouse.ids import stable_id
from warehouse.training_runs import training_run


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
    """Base first, then the student of `training_run_id` (if any), then the teacher (if any)."""
    out = [Contestant("base", TeacherConfig(model=base_model))]
    if training_run_id:
        out.append(_student(wh, training_run_id))
    if teacher is not None:
        out.append(Contestant("teacher", teacher, teacher_id=teacher.teacher_id))
    return out


def _student(wh: Warehouse, training_run_id: str) -> Contestant:
    """A LoRA run answers as its base model with the adapter merged; a full fine-tune from its output dir."""
    run = training_run(wh, training_run_id)
    lora = json.loads(run["config"])["lora"]
    student = TeacherConfig(model=run["base_model"] if lora else run["output_dir"])
    return Contestant("student", student, adapter=run["output_dir"] if lora else None,
                      training_run_id=training_run_id)
