"""What a metric reads (`Scored`) and what it is (`Metric`).

A metric is a small class: a `name` and `compute(scored) -> float | None`,
computed once per contestant from that contestant's scored answers. It gets one
`Scored` value rather than loose arguments, so that a metric needing more (the
prompts' domains for per-domain accuracy, latencies for tokens/s) reads a field
and no other metric's signature changes when a field is added.

How issue 14's metrics fit: per-model ones (a Wilson bound, pass@k, per-domain
accuracy) are plain `Metric`s. Ones that compare two contestants (retention =
student / teacher accuracy, speedup = teacher / student latency, forgetting =
student vs base) need the other contestant's `Scored`; they grow as a second
pass once every contestant is recorded, with `Scored` gaining the peers by role,
and their values stored with `warehouse.evaluations.add_metric_values`, the same
path that back-fills a metric registered after an evaluation was recorded.
Values land in the long `evaluation_metrics` table, so a new metric is new rows,
never a migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Scored:
    """One contestant's scored answers to the held-out prompts: everything a metric may read."""

    role: str  # base | student | teacher
    prompts: list[dict]  # prompt_id, text, reference, domain; in prompt_id order
    items: list[dict]  # `evaluation_items` rows aligned with `prompts`: prompt_id, response, passed, reason, extracted
    mean_latency_s: float | None  # None when the answers were shared with another role and not timed again


class Metric(Protocol):
    name: str  # the key it is registered and stored under

    def compute(self, scored: Scored) -> float | None:
        """The metric's value for one contestant; None when it does not apply (stored as NULL)."""
        ...
