"""Evaluation metrics, by registry name, computed for every contestant in this order.

Adding a metric is one new file in this folder (a class with a `name` and
`compute(scored) -> float | None`, see `base.py`) plus one line in `METRICS`.
`evaluation.evaluate` computes every registered metric, stores each value in
`evaluation_metrics` and returns them in the row's `metrics`; an evaluation
recorded before a metric was registered gets its value from its stored items on
the next run, without answering again.
"""

from __future__ import annotations

from evaluation.metrics.accuracy import Accuracy
from evaluation.metrics.base import Metric, Scored
from evaluation.metrics.compare import PairedTest, Retention, Speedup
from evaluation.metrics.interval import AccuracyHigh, AccuracyLow

METRICS: dict[str, Metric] = {
    "accuracy": Accuracy(),
    "accuracy_ci_low": AccuracyLow(),
    "accuracy_ci_high": AccuracyHigh(),
    "retention": Retention(),
    "speedup": Speedup(),
    "p_vs_base": PairedTest("base"),
    "p_vs_teacher": PairedTest("teacher"),
}


def compute_metrics(scored: Scored, names: list[str] | None = None) -> dict[str, float | None]:
    """Values of the named registered metrics (all of them by default), in registry order."""
    wanted = set(METRICS) if names is None else set(names)
    return {name: metric.compute(scored) for name, metric in METRICS.items() if name in wanted}


__all__ = ["METRICS", "Accuracy", "Metric", "Scored", "compute_metrics"]
