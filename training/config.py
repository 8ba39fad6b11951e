"""Typed training configs, validated in `__post_init__`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
