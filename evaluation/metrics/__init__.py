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
from evaluation.metrics.forgetting import Flips, GeneralNll, GeneralNllDelta, ProbeAccuracy, ProbeDelta, ProbePairedTest
from evaluation.metrics.interval import AccuracyHigh, AccuracyLow
from evaluation.metrics.sampling import MajorityAtN, PassAtK

METRICS: dict[str, Metric] = {
    "accuracy": Accuracy(),
    "accuracy_ci_low": AccuracyLow(),
    "accuracy_ci_high": AccuracyHigh(),
    "retention": Retention(),
    "speedup": Speedup(),
    "p_vs_base": PairedTest("base"),
    "p_vs_teacher": PairedTest("teacher"),
    "pass@1": PassAtK(1),
    "pass@n": PassAtK(None),
    "maj@n": MajorityAtN(),
    "flips_lost": Flips("lost"),
    "flips_gained": Flips("gained"),
    "general_nll": GeneralNll(),
    "general_nll_delta": GeneralNllDelta(),
    "truthfulqa": ProbeAccuracy("truthfulqa"),
    "truthfulqa_ci_low": ProbeAccuracy("truthfulqa", "low"),
    "truthfulqa_ci_high": ProbeAccuracy("truthfulqa", "high"),
    "truthfulqa_delta": ProbeDelta("truthfulqa"),
    "truthfulqa_p_vs_base": ProbePairedTest("truthfulqa"),
    "hellaswag": ProbeAccuracy("hellaswag"),
    "hellaswag_ci_low": ProbeAccuracy("hellaswag", "low"),
    "hellaswag_ci_high": ProbeAccuracy("hellaswag", "high"),
    "hellaswag_delta": ProbeDelta("hellaswag"),
    "hellaswag_p_vs_base": ProbePairedTest("hellaswag"),
    "probe_flips_lost": Flips("lost", probes=True),
    "probe_flips_gained": Flips("gained", probes=True),
}


def compute_metrics(scored: Scored, names: list[str] | None = None) -> dict[str, float | None]:
    """Values of the named registered metrics (all of them by default), in registry order."""
    wanted = set(METRICS) if names is None else set(names)
    return {name: metric.compute(scored) for name, metric in METRICS.items() if name in wanted}


__all__ = ["METRICS", "Accuracy", "Metric", "Scored", "compute_metrics"]
