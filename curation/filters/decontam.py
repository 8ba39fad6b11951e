"""Decontamination: a train prompt or response that reproduces an eval prompt is dropped."""

from __future__ import annotations

from curation.config import CurationConfig
from curation.filters.base import Filter, Reject
from curation.filters.quality import words_of
from warehouse.curated import eval_prompt_texts
from warehouse.db import Warehouse


class Decontaminator:
    """Word n-gram overlap with the eval prompts (operators, punctuation and numbers are words).

    A train prompt or response is contaminated by an eval prompt when it contains at
    least `min_share` of that eval prompt's distinct n-grams; an eval prompt shorter
    than n words must appear whole. A share, not a single shared n-gram: problems
    written from the same template share boilerplate 8-grams ("pages every day . how
    many pages does") without being the same problem.
    """

    def __init__(self, eval_prompts: list[dict], n: int = 8, min_share: float = 0.5):
        self.n, self.min_share = n, min_share
        self.index: dict[int, dict[tuple, set[str]]] = {}  # n-gram size -> n-gram -> eval prompt ids
        self.sizes: dict[str, int] = {}  # eval prompt id -> its number of distinct n-grams
        for p in eval_prompts:
            words = words_of(p["text"])
            size = min(n, len(words))
            if size == 0:
                continue
            grams = {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}
            self.sizes[p["prompt_id"]] = len(grams)
            table = self.index.setdefault(size, {})
            for gram in grams:
                table.setdefault(gram, set()).add(p["prompt_id"])

    def hit(self, *texts: str) -> dict | None:
        for field_name, text in zip(("prompt", "response"), texts):
            words = words_of(text)
            found: dict[str, set[tuple]] = {}
            for size, table in self.index.items():
                for i in range(len(words) - size + 1):
                    gram = tuple(words[i:i + size])
                    for prompt_id in table.get(gram, ()):
                        found.setdefault(prompt_id, set()).add(gram)
            best = max(found, key=lambda pid: (len(found[pid]) / self.sizes[pid], pid), default=None)
            if best is not None and len(found[best]) / self.sizes[best] >= self.min_share:
                return {"eval_prompt_id": best, "field": field_name,
                        "share": round(len(found[best]) / self.sizes[best], 3), "ngram": " ".join(min(found[best]))}
        return None


class Decontaminate(Filter):
    """The prompt or the response holds `decontam_share` of an eval prompt's n-grams (the eval prompt is recorded)."""

    name = "decontaminated"

    def __init__(self, decontaminator: Decontaminator):
        self.decontaminator = decontaminator

    def check(self, row: dict) -> Reject | None:
        hit = self.decontaminator.hit(row["prompt_text"], row["response"])
        return Reject("decontaminated", hit) if hit is not None else None

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter:
        return cls(Decontaminator(eval_prompt_texts(wh), cfg.decontam_ngram, cfg.decontam_share))
