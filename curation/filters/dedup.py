"""Filters with memory: exact and near duplicates of kept rows, and the per-prompt cap.

Each loads what earlier runs kept from the warehouse, and learns every row this
run keeps (`keep`), so a row is judged against everything kept before it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from curation.config import CurationConfig
from curation.filters.base import Filter, Reject
from curation.near_dedup import NearDupIndex
from warehouse.curated import kept_hashes, kept_per_prompt
from warehouse.db import Warehouse

STAGE = "curate"  # the near-dedup scope: its signatures persist under this name


class ExactDuplicate(Filter):
    """Same prompt and same normalised training target as a kept row."""

    name = "exact_duplicate"

    def __init__(self, hashes: set[str]):
        self.hashes = hashes

    def check(self, row: dict) -> Reject | None:
        if row["content_hash"] in self.hashes:
            return Reject("exact_duplicate", {"content_hash": row["content_hash"]})
        return None

    def keep(self, row: dict) -> None:
        self.hashes.add(row["content_hash"])

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter:
        return cls(kept_hashes(wh))


class NearDuplicate(Filter):
    """A MinHash near-duplicate of a row kept in this run or any earlier one (curation/near_dedup.py)."""

    name = "near_duplicate"

    def __init__(self, index: NearDupIndex):
        self.index = index

    @staticmethod
    def text(row: dict) -> str:
        return f"{row['prompt_text']}\n{row['target']}"

    def check(self, row: dict) -> Reject | None:
        match = self.index.check(row["generation_id"], self.text(row))
        if match is None:
            return None
        return Reject("near_duplicate", {"cluster_id": match.cluster_id, "similar_to": match.kept_id,
                                         "jaccard": round(match.jaccard, 3)})

    def keep(self, row: dict) -> None:
        self.index.add(row["generation_id"], self.text(row))

    def save(self, wh: Warehouse, con: Any) -> None:
        self.index.flush(wh, con=con)

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter | None:
        return cls(NearDupIndex.load(wh, STAGE)) if cfg.near_dedup else None


class PerPromptCap(Filter):
    """The prompt already has `max_per_prompt` kept rows (0 = no cap)."""

    name = "per_prompt_cap"

    def __init__(self, cap: int, counts: Counter):
        self.cap, self.counts = cap, counts

    def check(self, row: dict) -> Reject | None:
        if self.counts[row["prompt_id"]] >= self.cap:
            return Reject("per_prompt_cap", {"max_per_prompt": self.cap})
        return None

    def keep(self, row: dict) -> None:
        self.counts[row["prompt_id"]] += 1

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter | None:
        return cls(cfg.max_per_prompt, Counter(kept_per_prompt(wh))) if cfg.max_per_prompt else None
