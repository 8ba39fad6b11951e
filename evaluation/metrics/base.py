"""What a metric reads (`Scored`) and what it is (`Metric`).

A metric is a small class: a `name` and `compute(scored) -> float | None`,
computed once per contestant from that contestant's scored answers. It gets one
`Scored` value rather than loose arguments, so that a metric needing more (the
prompts' domains for per-domain accuracy, latencies for tokens/s) reads a field
and no other metric's signature changes when a field is added.

Metrics that compare contestants (retention, speedup, paired tests: `compare.py`)
read the others through `Scored.peers` (by role). `evaluation.evaluate` records every
contestant first, then computes the metrics with the peers in place; a value stored
as NULL because a peer was missing is computed again on a run that has it, and a
metric registered after an evaluation was recorded is computed from its stored items.
Values land in the long `evaluation_metrics` table, so a new metric is new rows,
never a migration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Scored:
    """One contestant's scored answers to the held-out prompts: everything a metric may read."""

    role: str  # base | teacher | student | student:<method>... (evaluation/contestants.py)
    prompts: list[dict]  # prompt_id, text, reference, domain, topic (of its seed, or None); in prompt_id order
    items: list[dict]  # `evaluation_items` rows aligned with `prompts`: prompt_id, response, passed, reason, extracted
    mean_latency_s: float | None  # None when the answers were shared with another role and not timed again
    peers: Mapping[str, Scored] = field(default_factory=dict)  # the run's other contestants, by role
    samples: list[dict] = field(default_factory=list)  # `evaluation_samples` rows (eval.samples > 0), by prompt
    probes: Mapping[str, list[dict]] = field(default_factory=dict)  # probe -> `evaluation_probes` rows (forgetting)
    tokens_per_s: float | None = None  # generated tokens per second of answering wall time (None when not timed)

    @property
    def kind(self) -> str:
        """base | student | teacher, whatever the role is called in this run."""
        return self.role.split(":", 1)[0]


class Metric(Protocol):
    name: str  # the key it is registered and stored under

    def compute(self, scored: Scored) -> float | None | Mapping[str, float | None]:
        """The metric's value for one contestant; None when it does not apply (stored as NULL). A family of
        values (one per topic, say) is a mapping, stored as `name:key` rows."""
        ...
