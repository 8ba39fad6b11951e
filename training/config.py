"""The recipe's `train:` section: a base every training method's config extends.

`method` picks the entry of `training/methods:METHODS`; the method's own config
class (e.g. `SFTConfig`) adds the fields only it needs, each with help text, and
validates them after `super().__post_init__()`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    method: str = field(default="sft", metadata={"help": "training method: a key of training.methods.METHODS"})
    base_model: str = field(default="smollm2-135m-instruct", metadata={"help": "embedded name or checkpoint dir"})
    lora: bool = field(default=True, metadata={"help": "train LoRA adapters (peft) instead of all weights"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)"})
    epochs: float = field(default=2.0, metadata={"help": "passes over the snapshot (ignored when max_steps > 0)"})
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps (-1 = run the epochs)"})
    learning_rate: float = field(default=1e-3, metadata={"help": "peak learning rate (cosine schedule, 5% warmup)"})
    batch_size: int = field(default=8, metadata={"help": "examples per device step"})
    grad_accum: int = field(default=1, metadata={"help": "device steps per optimizer step"})
    max_length: int = field(default=256, metadata={"help": "tokens per example; longer ones are truncated"})
    seed: int = field(default=0, metadata={"help": "seed for data order and initialisation"})
    output_root: str = field(default="runs", metadata={"help": "training outputs go to <output_root>/<id>"})

    def __post_init__(self) -> None:
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ValueError("set epochs > 0 or max_steps > 0")
        if self.learning_rate <= 0 or self.batch_size < 1 or self.max_length < 16:
            raise ValueError("learning_rate > 0, batch_size >= 1 and max_length >= 16 are required")

    @property
    def reads_stored_logprobs(self) -> bool:
        """True when the method trains on the teacher top-k stored with each generation (kd `source: stored`):
        the snapshot's rows then come with their `generation_logprobs`."""
        return False

    def identity(self) -> dict[str, Any]:
        """What decides the trained weights (not where they are written); stored as training_runs.config."""
        values = asdict(self)
        values.pop("output_root")
        return values

    def run_key(self) -> dict[str, Any]:
        """What the training run id hashes: the identity, without `method` for SFT, so runs recorded before
        methods existed (all SFT) keep their ids and a rerun reuses them instead of training again."""
        values = self.identity()
        if values["method"] == "sft":
            values.pop("method")
        return values


@dataclass(frozen=True)
class LocalTeacherConfig(TrainConfig):
    """A logit method's base (kd, gkd): a local teacher model sharing the student's tokenizer, and the turns it
    sees before each row. Both are resolved here, so the run's identity (training_runs.config) names the
    teacher it used."""

    teacher_model: str | None = field(default=None, metadata={
        "help": "local teacher: embedded name or checkpoint dir (null = base_model); must share the tokenizer"})
    teacher_few_shot: tuple[tuple[str, str], ...] | None = field(default=None, metadata={
        "help": "turns the teacher sees before each row and the student never does ([{user, assistant}, ...]); "
                "null = the recipe teacher's few_shot when it runs teacher_model, else none"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.teacher_model is None:
            object.__setattr__(self, "teacher_model", self.base_model)
        if self.teacher_few_shot is not None:
            from generators.teachers.base import TeacherConfig
            object.__setattr__(self, "teacher_few_shot", tuple(TeacherConfig._shot(s) for s in self.teacher_few_shot))
