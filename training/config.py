"""Typed configs for snapshots, training and evaluation, validated in `__post_init__`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SnapshotSpec:
    name: str | None = field(default=None, metadata={"help": "snapshot name (None = <recipe>-<content hash>)"})
    domains: list[str] | None = field(default=None, metadata={"help": "curated domains to include (None = all)"})
    general: str | None = field(default=None, metadata={"help": "general data: local JSONL/Parquet or a hub id"})
    general_ratio: str = field(default="1:2", metadata={"help": "general : distilled rows, e.g. 1:2"})
    seed: int = field(default=0, metadata={"help": "seed for sampling general rows"})

    def __post_init__(self) -> None:
        self.ratio()  # raises on a malformed ratio

    def ratio(self) -> tuple[int, int]:
        try:
            general, distilled = (int(x) for x in str(self.general_ratio).split(":"))
        except ValueError:
            raise ValueError(f"general_ratio must look like '1:2', got {self.general_ratio!r}") from None
        if general < 0 or distilled <= 0:
            raise ValueError("general_ratio needs general >= 0 and distilled > 0")
        return general, distilled

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainConfig:
    base_model: str = field(default="smollm2-135m-instruct", metadata={"help": "embedded name or checkpoint dir"})
    lora: bool = field(default=True, metadata={"help": "train LoRA adapters (peft) instead of all weights"})
    lora_r: int = 16
    lora_alpha: int = 32
    epochs: float = 2.0
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps (-1 = run the epochs)"})
    learning_rate: float = 1e-3
    batch_size: int = 8
    grad_accum: int = 1
    max_length: int = field(default=256, metadata={"help": "tokens per example; longer ones are truncated"})
    seed: int = 0
    output_root: str = field(default="runs", metadata={"help": "training outputs go to <output_root>/<id>"})

    def __post_init__(self) -> None:
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ValueError("set epochs > 0 or max_steps > 0")
        if self.learning_rate <= 0 or self.batch_size < 1 or self.max_length < 16:
            raise ValueError("learning_rate > 0, batch_size >= 1 and max_length >= 16 are required")

    def identity(self) -> dict[str, Any]:
        """What decides the trained weights (not where they are written)."""
        values = asdict(self)
        values.pop("output_root")
        return values


@dataclass(frozen=True)
class EvalConfig:
    split: str = "eval"
    max_tokens: int = field(default=128, metadata={"help": "new tokens per answer (greedy)"})
    batch_size: int = 32
    limit: int | None = field(default=None, metadata={"help": "evaluate the first N prompts (None = all)"})
    teacher: bool = field(default=True, metadata={"help": "also score the teacher (greedy) for retention"})
