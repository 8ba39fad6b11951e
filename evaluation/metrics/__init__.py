"""Evaluation metrics, by registry name, computed for every contestant in this order.

Adding a metric is one new file in this folder (a class with a `name` and
`compute(scored) -> float | None`, see `base.py`) plus one line in `METRICS`.
`evaluation.evaluate` computes every registered metric, stores each value in
`evaluation_metrics` and returns them in the row's `metrics`; an evaluation
recorded before a metric was registered gets its value from its stored items on
the next run, without answering again.
"""

from __future__ import annotations

from collections.abc import Mapping

from evaluation.metrics.accuracy import Accuracy
from evaluation.metrics.base import Metric, Scored
from evaluation.metrics.breakdown import AccuracyBy, RetentionBy
from evaluation.metrics.compare import PairedTest, Retention, Speedup, TokensPerSecond
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
    "tokens_per_s": TokensPerSecond(),
    "accuracy_by_topic": AccuracyBy("topic"),
    "retention_by_topic": RetentionBy("topic"),
    "retention_by_domain": RetentionBy("domain"),
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
    """Values of the named registered metrics (all of them by default), in registry order; a family metric
    (one value per group, e.g. per topic) gives one `name:group` key per group."""
    wanted = set(METRICS) if names is None else set(names)
    out: dict[str, float | None] = {}
    for name, metric in METRICS.items():
        if name in wanted:
            value = metric.compute(scored)
            if isinstance(value, Mapping):
                out.update({f"{name}:{group}": v for group, v in value.items()})
            else:
                out[name] = value
    return out


def ordered(values: Mapping[str, float | None]) -> dict[str, float | None]:
    """Stored values of registered metrics in registry order (a family's groups after its name), every
    single-valued metric present (None where nothing is stored)."""
    out: dict[str, float | None] = {}
    for name, metric in METRICS.items():
        family = sorted(k for k in values if k.startswith(f"{name}:"))
        if family:
            out.update({k: values[k] for k in family})
        elif not isinstance(metric, (AccuracyBy, RetentionBy)):
            out[name] = values.get(name)
    return out


__all__ = ["METRICS", "Accuracy", "Metric", "Scored", "compute_metrics", "ordered"]
