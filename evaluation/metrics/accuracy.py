"""Accuracy: the share of held-out prompts whose answer the domain's verifier passed."""

from __future__ import annotations

from evaluation.metrics.base import Scored


class Accuracy:
    """Also the `evaluations.accuracy` column, so the row and the metric table always agree."""

    name = "accuracy"

    def compute(self, scored: Scored) -> float | None:
        if not scored.items:
            return None
        return sum(i["passed"] for i in scored.items) / len(scored.items)
