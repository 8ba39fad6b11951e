"""The recipe's `eval:` section."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EvalConfig:
    split: str = field(default="eval", metadata={"help": "prompts split the contestants answer"})
    max_tokens: int = field(default=128, metadata={"help": "new tokens per answer (greedy and sampled)"})
    batch_size: int = field(default=32, metadata={"help": "prompts per generate call"})
    limit: int | None = field(default=None, metadata={"help": "evaluate the first N prompts (None = all)"})
    teacher: bool = field(default=True, metadata={"help": "also score the teacher (greedy) for retention"})
    samples: int = field(default=0, metadata={
        "help": "sampled answers per prompt besides the greedy one, for pass@1 (mean over samples), pass@n "
                "and maj@n (0 = off)"})
    sample_temperature: float = field(default=0.6, metadata={"help": "temperature of those samples (open-r1: 0.6)"})
    sample_top_p: float = field(default=0.95, metadata={"help": "top-p of those samples (open-r1: 0.95)"})
    forgetting: bool = field(default=False, metadata={
        "help": "score the base model and each student on the forgetting probes: NLL of held-out general "
                "responses, TruthfulQA-MC1 and HellaSwag by log-likelihood"})
    probe_limit: int = field(default=25, metadata={
        "help": "items per multiple-choice probe (the fixtures hold 100; at 25 a 95% interval is about "
                "+-18 points); 25 items cost SmolLM2-135M about as much as 30 greedy eval answers (~14k "
                "tokens scored) on 2 CPU cores"})
    general_heldout: str = field(default="examples/general/heldout.jsonl", metadata={
        "help": "general prompt/response rows that no snapshot mixes in, for the general NLL probe"})

    def __post_init__(self) -> None:
        if self.samples < 0:
            raise ValueError(f"eval.samples must be >= 0 (0 = off), got {self.samples}")
        if self.samples and not self.sample_temperature > 0:
            raise ValueError(f"eval.sample_temperature must be > 0 to sample, got {self.sample_temperature}")
        if not 0 < self.sample_top_p <= 1:
            raise ValueError(f"eval.sample_top_p must be in (0, 1], got {self.sample_top_p}")
        if self.probe_limit < 1:
            raise ValueError(f"eval.probe_limit must be >= 1, got {self.probe_limit}")
