"""Metrics of the trained student against the other contestants of the same evaluation run.

retention  student accuracy / teacher accuracy: how much of the teacher's skill moved (aim: > 0.9)
speedup    teacher mean latency / student mean latency, both measured by the same harness here
           (same prompts, batch size and max tokens)
tokens_per_s
           generated tokens per second of each contestant's answering wall time
p_vs_base, p_vs_teacher
           exact two-sided McNemar p-value on the same items: the chance of a split of
           discordant items at least this uneven if student and peer were equally good

They read the peers (`Scored.peers`, by role) and apply to the student only (None otherwise,
or when the peer is missing, stored as NULL and computed again when it is there).
"""

from __future__ import annotations

from math import comb

from evaluation.metrics.base import Scored


def _accuracy(s: Scored) -> float | None:
    return sum(i["passed"] for i in s.items) / len(s.items) if s.items else None


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: discordant pairs split `only_a` / `only_b` under p = 1/2."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def discordant(a: Scored, b: Scored) -> tuple[int, int]:
    """(items only `a` got right, items only `b` got right), paired by prompt id."""
    right_b = {i["prompt_id"]: i["passed"] for i in b.items}
    pairs = [(i["passed"], right_b[i["prompt_id"]]) for i in a.items if i["prompt_id"] in right_b]
    return sum(x and not y for x, y in pairs), sum(y and not x for x, y in pairs)


class Retention:
    name = "retention"

    def compute(self, scored: Scored) -> float | None:
        teacher = scored.peers.get("teacher")
        if scored.kind != "student" or teacher is None:
            return None
        mine, theirs = _accuracy(scored), _accuracy(teacher)
        return mine / theirs if mine is not None and theirs else None


class Speedup:
    name = "speedup"

    def compute(self, scored: Scored) -> float | None:
        teacher = scored.peers.get("teacher")
        if scored.kind != "student" or teacher is None or not scored.mean_latency_s or not teacher.mean_latency_s:
            return None
        return teacher.mean_latency_s / scored.mean_latency_s


class TokensPerSecond:
    """Generated tokens per second of answering wall time, for every contestant (the speedup's other face:
    the same harness, so a student that answers in fewer tokens shows a speedup at equal tokens/s)."""

    name = "tokens_per_s"

    def compute(self, scored: Scored) -> float | None:
        return scored.tokens_per_s


class PairedTest:
    """McNemar's exact test of the student against one peer role."""

    def __init__(self, peer: str):
        self.peer = peer
        self.name = f"p_vs_{peer}"

    def compute(self, scored: Scored) -> float | None:
        peer = scored.peers.get(self.peer)
        if scored.kind != "student" or peer is None:
            return None
        return mcnemar_exact(*discordant(scored, peer))
