"""FILTERS: every curation filter, in the order they run; the first that rejects a row is its recorded reason.

Order matters twice: cheap checks on one row come before checks against other rows,
and the dedup filters come last so that only rows that pass everything else are
remembered as kept. To add a filter: write a `Filter` subclass in a new file here
(curation/filters/base.py says what it implements) and add one line below.
"""

from __future__ import annotations

from collections.abc import Callable

from curation.config import CurationConfig
from curation.filters.base import Filter, Reject
from curation.filters.decontam import Decontaminate
from curation.filters.dedup import ExactDuplicate, NearDuplicate, PerPromptCap
from curation.filters.quality import (
    EmptyAnswer,
    EvalPrompt,
    LanguageMismatch,
    MalformedReasoning,
    NotVerified,
    Repetitive,
    TokenBounds,
    Truncated,
)
from warehouse.db import Warehouse

Builder = Callable[[CurationConfig, Warehouse], Filter | None]

FILTERS: dict[str, Builder] = {
    "eval_prompt": EvalPrompt.build,                  # held-out prompts never train, by construction
    "not_verified": NotVerified.build,
    "truncated": Truncated.build,
    "empty_answer": EmptyAnswer.build,
    "malformed_reasoning": MalformedReasoning.build,
    "token_bounds": TokenBounds.build,                # too_short / too_long
    "repetitive": Repetitive.build,
    "language_mismatch": LanguageMismatch.build,
    "decontaminated": Decontaminate.build,            # eval never trains, by check too
    "exact_duplicate": ExactDuplicate.build,
    "near_duplicate": NearDuplicate.build,
    "per_prompt_cap": PerPromptCap.build,
}


def build_filters(cfg: CurationConfig, wh: Warehouse) -> list[Filter]:
    """The filters the recipe turns on, in registry order, each loaded with what earlier runs kept."""
    return [f for f in (build(cfg, wh) for build in FILTERS.values()) if f is not None]


__all__ = ["FILTERS", "Filter", "Reject", "build_filters"]
