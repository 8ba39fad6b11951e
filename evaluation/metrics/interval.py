"""Wilson score interval of an accuracy: with 60 held-out items one item is 1.7 points, so every accuracy
comes with the range it could plausibly be in (95% by default)."""

from __future__ import annotations

import math

from evaluation.metrics.base import Scored

Z95 = 1.959963984540054


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """(low, high) of the Wilson score interval for `correct` successes in `n` trials."""
    if n <= 0:
        raise ValueError("an interval needs at least one trial")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


class AccuracyLow:
    """The lower end of the accuracy's 95% Wilson interval."""

    name = "accuracy_ci_low"

    def compute(self, scored: Scored) -> float | None:
        return wilson(sum(i["passed"] for i in scored.items), len(scored.items))[0] if scored.items else None


class AccuracyHigh:
    """The upper end of the accuracy's 95% Wilson interval."""

    name = "accuracy_ci_high"

    def compute(self, scored: Scored) -> float | None:
        return wilson(sum(i["passed"] for i in scored.items), len(scored.items))[1] if scored.items else None
