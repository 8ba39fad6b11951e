"""Who is evaluated: the base student, each trained student and the teacher, each as a greedy decoder.

A contestant's `role` names it in the run and in its peers' comparisons: `base`, `teacher`, and `student`
when one trained student is evaluated; with several, `student:<method>` (the run's training method, e.g.
`student:sft`, `student:kd`), plus `:<first 8 characters of its training run id>` when two share a method.
Its `kind` (base | student | teacher) is what the warehouse stores as `evaluations.role` and what the
evaluation id hashes, so a student's evaluation is found again whether it ran alone or beside others.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from evaluation.config import EvalConfig
from generators.teachers import TeacherConfig
from warehouse.db import Warehouse
from warehouse.ids import stable_id
from warehouse.training_runs import training_run

KINDS = ("base", "student", "teacher")


@dataclass(frozen=True)
class Contestant:
    role: str  # base | teacher | student | student:<method>[:<run id prefix>]
    config: TeacherConfig  # how it answers; evaluation forces greedy decoding
    adapter: str | None = None  # LoRA directory merged into `config.model` (transformers only)
    training_run_id: str | None = None
    teacher_id: str | None = None
    method: str | None = None  # a student's training method (training_runs.config.method)

    @property
    def kind(self) -> str:
        """base | student | teacher: what the contestant is, whatever its role is called in this run."""
        return self.role.split(":", 1)[0]

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def local(self) -> bool:
        """Its weights are loadable here (the likelihood probes need them)."""
        return self.config.backend == "transformers"

    def greedy(self, cfg: EvalConfig) -> TeacherConfig:
        return replace(self.config, temperature=0.0, top_p=1.0, seed=0, n=1, max_tokens=cfg.max_tokens,
                       batch_size=cfg.batch_size)

    def sampling(self, cfg: EvalConfig) -> TeacherConfig:
        """How it answers for pass@k / maj@k: `cfg.samples` samples at the eval's temperature and top-p."""
        return replace(self.greedy(cfg), temperature=cfg.sample_temperature, top_p=cfg.sample_top_p,
                       n=cfg.samples)

    def decode_key(self, cfg: EvalConfig) -> str:
        """Equal keys decode identically, so their answers are computed once."""
        return stable_id(self.greedy(cfg).teacher_id, self.adapter)


def contestants(wh: Warehouse, training_run_ids: str | Sequence[str] | None, teacher: TeacherConfig | None,
                base_model: str) -> list[Contestant]:
    """Base first, then one student per training run id (in the order given), then the teacher (if any).

    `training_run_ids`: None, one id, or a list of ids (e.g. [sft_run, kd_run])."""
    ids = [training_run_ids] if isinstance(training_run_ids, str) else list(training_run_ids or [])
    if len(set(ids)) != len(ids):
        raise ValueError(f"training run ids {ids} name one run twice: pass each student once")
    students = [_student(wh, run_id) for run_id in ids]
    out = [Contestant("base", TeacherConfig(model=base_model)), *_named(students)]
    if teacher is not None:
        out.append(Contestant("teacher", teacher, teacher_id=teacher.teacher_id))
    return out


def _named(students: list[Contestant]) -> list[Contestant]:
    """`student` alone; `student:<method>` beside others, with the run id's prefix when a method repeats."""
    if len(students) == 1:
        return students
    repeats = Counter(s.method for s in students)
    return [replace(s, role=f"student:{s.method}" + (f":{s.training_run_id[:8]}" if repeats[s.method] > 1 else ""))
            for s in students]


def _student(wh: Warehouse, training_run_id: str) -> Contestant:
    """A LoRA run answers as its base model with the adapter merged; a full fine-tune from its output dir."""
    run = training_run(wh, training_run_id)
    config = json.loads(run["config"])
    student = TeacherConfig(model=run["base_model"] if config["lora"] else run["output_dir"])
    return Contestant("student", student, adapter=run["output_dir"] if config["lora"] else None,
                      training_run_id=training_run_id, method=config.get("method", "sft"))
