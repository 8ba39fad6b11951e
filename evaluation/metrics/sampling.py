"""pass@k and maj@k from n sampled answers per prompt (eval.samples, at eval.sample_temperature).

pass@1  the unbiased estimator at k = 1: the share of correct samples, averaged over prompts (the
        open-r1 / lighteval convention with n samples at T = 0.6)
pass@n  the share of prompts with at least one correct sample
maj@n   the share of prompts whose most frequent extracted answer is a correct one (a tie goes to the
        answer sampled first; samples with no extracted answer do not vote)

The estimator for any k <= n (Chen et al. 2021, "Evaluating Large Language Models Trained on Code"):
pass@k = 1 - C(n - c, k) / C(n, k) per prompt, with c correct samples of n, averaged over prompts.
"""

from __future__ import annotations

from collections import defaultdict
from math import comb

from evaluation.metrics.base import Scored


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c correct) is correct."""
    if not 0 < k <= n or not 0 <= c <= n:
        raise ValueError(f"pass@k needs 0 < k <= n and 0 <= c <= n, got n={n}, c={c}, k={k}")
    return 1.0 - comb(n - c, k) / comb(n, k)


def majority_correct(samples: list[dict]) -> bool:
    """Whether the most frequent extracted answer (first sampled wins a tie) was scored correct."""
    votes: dict[str, list[dict]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: s["sample_index"]):
        if s["extracted"] is not None:
            votes[s["extracted"]].append(s)
    if not votes:
        return False
    winner = max(votes.values(), key=len)  # max keeps the first of equal counts: insertion = sample order
    return bool(winner[0]["passed"])


def by_prompt(scored: Scored) -> list[list[dict]]:
    """The samples of each prompt that has any, in prompt order."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for s in scored.samples:
        groups[s["prompt_id"]].append(s)
    return [groups[p["prompt_id"]] for p in scored.prompts if groups.get(p["prompt_id"])]


class PassAtK:
    """pass@1 (`k=1`) or pass@n (`k=None`: all samples of each prompt)."""

    def __init__(self, k: int | None):
        self.k = k
        self.name = f"pass@{k or 'n'}"

    def compute(self, scored: Scored) -> float | None:
        groups = by_prompt(scored)
        if not groups:
            return None
        values = [pass_at_k(len(g), sum(bool(s["passed"]) for s in g), self.k or len(g)) for g in groups]
        return sum(values) / len(values)


class MajorityAtN:
    name = "maj@n"

    def compute(self, scored: Scored) -> float | None:
        groups = by_prompt(scored)
        return sum(majority_correct(g) for g in groups) / len(groups) if groups else None
