"""The teacher interface: one config type, one `generate` method, a registry.

A generation's id is derived from the prompt, the teacher config and the sample
index (`generation_id`), so a rerun asks only for what the warehouse lacks.
`n` and `batch_size` are not part of the teacher id: raising `n` later adds new
sample indices under the same teacher instead of starting over.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from warehouse.db import stable_id


@dataclass(frozen=True)
class TeacherConfig:
    backend: str = field(default="transformers", metadata={"help": "registry name: transformers"})
    model: str = field(default="smollm2-135m-instruct", metadata={"help": "embedded name or local checkpoint dir"})
    temperature: float = field(default=0.7, metadata={"help": "0 = greedy"})
    top_p: float = 0.95
    n: int = field(default=4, metadata={"help": "samples per prompt"})
    max_tokens: int = field(default=128, metadata={"help": "new tokens per sample"})
    batch_size: int = field(default=32, metadata={"help": "sequences per forward batch"})
    system_prompt: str | None = None
    few_shot: tuple[tuple[str, str], ...] = field(
        default=(), metadata={"help": "worked examples shown to the teacher as earlier chat turns: "
                                      "[{user: ..., assistant: ...}, ...]; students never see them"})
    seed: int = 0

    def __post_init__(self) -> None:
        shots = tuple(self._shot(s) for s in self.few_shot)
        object.__setattr__(self, "few_shot", shots)  # frozen: normalise once, here
        if self.n < 1 or self.max_tokens < 1 or self.batch_size < 1:
            raise ValueError("teacher n, max_tokens and batch_size must be >= 1")
        if not 0 <= self.temperature <= 5 or not 0 < self.top_p <= 1:
            raise ValueError("teacher temperature must be in [0, 5] and top_p in (0, 1]")

    @property
    def sampling(self) -> dict[str, Any]:
        """What decides the output distribution, hence the teacher id."""
        keep = ("temperature", "top_p", "max_tokens", "system_prompt", "few_shot", "seed")
        return {k: v for k, v in asdict(self).items() if k in keep}

    @property
    def teacher_id(self) -> str:
        return stable_id(self.backend, self.model, self.sampling)

    @staticmethod
    def _shot(shot: Any) -> tuple[str, str]:
        if isinstance(shot, dict) and set(shot) == {"user", "assistant"}:
            return str(shot["user"]), str(shot["assistant"])
        if isinstance(shot, (list, tuple)) and len(shot) == 2:
            return str(shot[0]), str(shot[1])
        raise ValueError(f"a few_shot item needs exactly `user` and `assistant`, got {shot!r}")

    def to_row(self) -> dict[str, Any]:
        return {"teacher_id": self.teacher_id, "backend": self.backend, "model": self.model, "params": self.sampling}


def generation_id(prompt_id: str, teacher_id: str, sample_index: int) -> str:
    return stable_id(prompt_id, teacher_id, sample_index)


@dataclass(frozen=True)
class Request:
    key: str  # the generation id the completion will be stored under
    prompt: str  # the user turn
    sample_index: int = 0


@dataclass(frozen=True)
class Completion:
    key: str
    text: str
    finish_reason: str  # stop | length
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost_usd: float = 0.0


class Teacher(ABC):
    def __init__(self, config: TeacherConfig):
        self.config = config

    def messages(self, prompt: str) -> list[dict[str, str]]:
        """The chat sent for one prompt: optional system prompt, few-shot turns, then the prompt."""
        cfg = self.config
        system = [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []
        shots = [{"role": role, "content": text} for user, assistant in cfg.few_shot
                 for role, text in (("user", user), ("assistant", assistant))]
        return [*system, *shots, {"role": "user", "content": prompt}]

    @abstractmethod
    def generate(self, requests: list[Request]) -> Iterator[list[Completion]]:
        """Answer every request, yielding completed batches so callers can store them as they come."""

    def close(self) -> None:
        """Release the model; the default holds nothing."""
