"""The recipe's `eval:` section."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EvalConfig:
    split: str = field(default="eval", metadata={"help": "prompts split the contestants answer"})
    max_tokens: int = field(default=128, metadata={"help": "new tokens per answer (greedy)"})
    batch_size: int = field(default=32, metadata={"help": "prompts per generate call"})
    limit: int | None = field(default=None, metadata={"help": "evaluate the first N prompts (None = all)"})
    teacher: bool = field(default=True, metadata={"help": "also score the teacher (greedy) for retention"})
