"""Metrics per task dimension: a family of values, one per group of the held-out prompts.

retention:<dimension>:<group>  student accuracy / teacher accuracy on the prompts of one group (a domain,
                               or a seed topic such as `fractions`), so a student that keeps the teacher's
                               arithmetic but not its fractions shows it; None where the teacher has no
                               correct item in the group.
accuracy:<dimension>:<group>   every contestant's accuracy on the group (the numerator and denominator above).

Stored as one `evaluation_metrics` row per group (`retention_by_topic:fractions`, ...).
"""

from __future__ import annotations

from collections import defaultdict

from evaluation.metrics.base import Scored


def _by(scored: Scored, dimension: str) -> dict[str, tuple[int, int]]:
    """group -> (correct, items) over the prompts that have the dimension."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for prompt, item in zip(scored.prompts, scored.items):
        group = prompt.get(dimension)
        if group:
            counts[group][0] += bool(item["passed"])
            counts[group][1] += 1
    return {g: (c, n) for g, (c, n) in sorted(counts.items())}


class AccuracyBy:
    def __init__(self, dimension: str):
        self.dimension = dimension
        self.name = f"accuracy_by_{dimension}"

    def compute(self, scored: Scored) -> dict[str, float | None] | None:
        groups = _by(scored, self.dimension)
        return {g: c / n for g, (c, n) in groups.items()} if len(groups) > 1 else None


class RetentionBy:
    def __init__(self, dimension: str):
        self.dimension = dimension
        self.name = f"retention_by_{dimension}"

    def compute(self, scored: Scored) -> dict[str, float | None] | None:
        teacher = scored.peers.get("teacher")
        if scored.kind != "student" or teacher is None:
            return None
        mine, theirs = _by(scored, self.dimension), _by(teacher, self.dimension)
        if len(mine) < 2:
            return None
        return {g: (c / n) / (theirs[g][0] / theirs[g][1]) if g in theirs and theirs[g][0] else None
                for g, (c, n) in mine.items()}
