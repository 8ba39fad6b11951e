"""Curation: decide, once, for every verified generation whether it is kept or rejected.

Each generation gets exactly one outcome, a row in `curated` or in `rejections`
(stage `curate`), so the stage is incremental and safe to rerun: a rerun only
looks at generations that have no outcome yet. The filters of
`curation/filters/__init__.py:FILTERS` run in order and the first that rejects a
row is the recorded reason (its evidence is in `details`):

    eval_prompt          the prompt is in the held-out split (never trained on, by construction)
    not_verified         the verifier did not pass it (its reason is kept in details)
    truncated            the teacher hit max_tokens
    empty_answer         no reasoning and no answer text
    malformed_reasoning  an unclosed `<think>`, or (require_reasoning) no reasoning at all
    too_short / too_long completion tokens outside [min_tokens, max_tokens]
    repetitive           repeated lines or word n-grams beyond the thresholds
    language_mismatch    the response is written in another script than the prompt
    decontaminated       the prompt or the response contains half (decontam_share) of an eval prompt's
                         word n-grams (the eval prompt is recorded): eval never trains, by check too
    exact_duplicate      same prompt and same normalised training target as a kept row
    near_duplicate       MinHash near-duplicate of a kept row, in this run or any earlier one
                         (curation/near_dedup.py; the cluster id is the kept row's id)
    per_prompt_cap       the prompt already has `max_per_prompt` kept rows

Which row of a cluster is kept: candidates are considered verified first, then
fewer completion tokens, then generation id, and the first one wins; so within a
prompt the cap keeps the most concise correct samples too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from curation.config import CurationConfig
from curation.filters import Filter, Reject, build_filters
from curation.target import exact_key, response_text, training_target
from warehouse.curated import STAGE, candidates, store_outcomes
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id


@dataclass
class CurationStats:
    considered: int = 0
    kept: int = 0
    rejected: Counter | None = None

    def as_dict(self) -> dict:
        return {"considered": self.considered, "kept": self.kept, "rejected": dict(self.rejected or {})}


def curate(wh: Warehouse, run_id: str, config: CurationConfig | None = None, **changes) -> CurationStats:
    cfg = replace(config or CurationConfig(), **changes)
    rows = [_prepare(row) for row in candidates(wh)]
    filters = build_filters(cfg, wh)
    kept, rejected, reasons = [], [], Counter()
    for row in rows:
        reject = first_rejection(filters, row)
        if reject is not None:
            reasons[reject.reason] += 1
            rejected.append({"rejection_id": stable_id(STAGE, row["generation_id"]), "stage": STAGE,
                             "generation_id": row["generation_id"], "reason": reject.reason,
                             "details": reject.evidence, "run_id": run_id, "created_at": now()})
            continue
        for f in filters:
            f.keep(row)
        kept.append({"generation_id": row["generation_id"], "prompt_id": row["prompt_id"],
                     "content_hash": row["content_hash"], "run_id": run_id, "created_at": now()})
    with wh.transaction() as con:
        store_outcomes(wh, con, kept, rejected)
        for f in filters:
            f.save(wh, con)
    return CurationStats(considered=len(rows), kept=len(kept), rejected=reasons)


def first_rejection(filters: list[Filter], row: dict) -> Reject | None:
    for f in filters:
        reject = f.check(row)
        if reject is not None:
            return reject
    return None


def _prepare(row: dict) -> dict:
    """A candidate with what the filters read besides its columns: the response, its training target and key."""
    response = response_text(row)
    target = training_target(row["reasoning"] or "", row["extracted"] or "", row["domain"], response)
    return {**row, "response": response, "target": target, "content_hash": exact_key(row["prompt_id"], target)}
