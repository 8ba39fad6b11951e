"""Forgetting: each student against the base model it was trained from, on items outside the distilled task.

general_nll             mean NLL per token of the held-out general responses (summed NLL / summed tokens)
general_nll_delta       student - base: above 0 the student finds general text less likely than before
truthfulqa, hellaswag   accuracy on the multiple-choice probes (evaluation/probes.py), with `_ci_low` /
                        `_ci_high` (95% Wilson) and, for a student, `_delta` (student - base) and `_p_vs_base`
                        (exact McNemar on the same probe items)
flips_lost, flips_gained
                        held-out task items the base answered right and the student wrong (and the reverse)
probe_flips_lost, probe_flips_gained
                        the same over the multiple-choice probe items, both probes together

The probe rows come with the contestant (`Scored.probes`); without them (forgetting off, or a contestant
whose weights are not local, such as an API teacher) every value here is None.
"""

from __future__ import annotations

from evaluation.metrics.base import Scored
from evaluation.metrics.compare import discordant, mcnemar_exact
from evaluation.metrics.interval import wilson

MC_PROBES = ("truthfulqa", "hellaswag")


def general_nll(scored: Scored) -> float | None:
    rows = scored.probes.get("general_nll") or []
    tokens = sum(r["tokens"] for r in rows)
    return sum(r["nll"] for r in rows) / tokens if tokens else None


def probe_accuracy(scored: Scored, probe: str) -> float | None:
    rows = scored.probes.get(probe) or []
    return sum(bool(r["correct"]) for r in rows) / len(rows) if rows else None


def _base_of(scored: Scored) -> Scored | None:
    """The base peer of a student; None for anyone else or when the base is not in the run."""
    return scored.peers.get("base") if scored.kind == "student" else None


def _paired(a: Scored, b: Scored, probes: tuple[str, ...]) -> tuple[int, int]:
    """(items only `a` got right, items only `b` got right) over the named probes, paired by item id."""
    def right(s: Scored) -> dict[tuple[str, str], bool]:
        return {(p, r["item_id"]): bool(r["correct"]) for p in probes for r in s.probes.get(p) or []}

    mine, theirs = right(a), right(b)
    pairs = [(mine[k], theirs[k]) for k in mine if k in theirs]
    return sum(x and not y for x, y in pairs), sum(y and not x for x, y in pairs)


class GeneralNll:
    name = "general_nll"

    def compute(self, scored: Scored) -> float | None:
        return general_nll(scored)


class GeneralNllDelta:
    name = "general_nll_delta"

    def compute(self, scored: Scored) -> float | None:
        base = _base_of(scored)
        mine, theirs = general_nll(scored), general_nll(base) if base else None
        return mine - theirs if mine is not None and theirs is not None else None


class ProbeAccuracy:
    """Accuracy on one multiple-choice probe, or one end of its 95% Wilson interval (`end` low | high)."""

    def __init__(self, probe: str, end: str | None = None):
        self.probe, self.end = probe, end
        self.name = f"{probe}_ci_{end}" if end else probe

    def compute(self, scored: Scored) -> float | None:
        rows = scored.probes.get(self.probe) or []
        if not rows:
            return None
        right = sum(bool(r["correct"]) for r in rows)
        if self.end is None:
            return right / len(rows)
        return wilson(right, len(rows))[0 if self.end == "low" else 1]


class ProbeDelta:
    """Student accuracy - base accuracy on one probe (below 0: forgotten)."""

    def __init__(self, probe: str):
        self.probe, self.name = probe, f"{probe}_delta"

    def compute(self, scored: Scored) -> float | None:
        base = _base_of(scored)
        mine, theirs = probe_accuracy(scored, self.probe), probe_accuracy(base, self.probe) if base else None
        return mine - theirs if mine is not None and theirs is not None else None


class ProbePairedTest:
    """Exact McNemar p-value of a student against the base on one probe's items."""

    def __init__(self, probe: str):
        self.probe, self.name = probe, f"{probe}_p_vs_base"

    def compute(self, scored: Scored) -> float | None:
        base = _base_of(scored)
        if base is None or not scored.probes.get(self.probe) or not base.probes.get(self.probe):
            return None
        return mcnemar_exact(*_paired(scored, base, (self.probe,)))


class Flips:
    """Items the base got right and the student wrong (`lost`), or the reverse (`gained`): on the held-out
    task items, or (`probes=True`) on the multiple-choice probe items."""

    def __init__(self, direction: str, probes: bool = False):
        self.direction, self.probes = direction, probes
        self.name = f"{'probe_' if probes else ''}flips_{direction}"

    def compute(self, scored: Scored) -> float | None:
        base = _base_of(scored)
        if base is None:
            return None
        if self.probes:
            if not any(scored.probes.get(p) for p in MC_PROBES):
                return None
            gained, lost = _paired(scored, base, MC_PROBES)
        else:
            gained, lost = discordant(scored, base)
        return float(lost if self.direction == "lost" else gained)
