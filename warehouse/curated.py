"""`curated` and `rejections` (stage `curate`): reads and writes for the curation stage."""

from __future__ import annotations

from typing import Any

from warehouse.db import Warehouse
from warehouse.verifications import LATEST_VERIFICATION

STAGE = "curate"

# Generations with a verdict and no curation outcome yet, in the order curation considers them:
# verified first, then fewer completion tokens, then id, so the first of a duplicate cluster is the keeper.
_CANDIDATES = f"""
    SELECT g.generation_id, g.prompt_id, g.raw, g.reasoning, g.answer, g.finish_reason, g.completion_tokens,
           p.split, p.domain, p.text AS prompt_text, v.passed, v.reason AS verdict_reason, v.extracted
    FROM generations g
    JOIN prompts p USING (prompt_id)
    JOIN {LATEST_VERIFICATION} v USING (generation_id)
    WHERE g.generation_id NOT IN (SELECT generation_id FROM curated)
      AND g.generation_id NOT IN (SELECT generation_id FROM rejections WHERE stage = '{STAGE}')
    ORDER BY g.prompt_id, v.passed DESC, g.completion_tokens, g.generation_id
"""


def candidates(wh: Warehouse) -> list[dict]:
    return wh.query(_CANDIDATES)


def kept_hashes(wh: Warehouse) -> set[str]:
    return {r["content_hash"] for r in wh.query("SELECT content_hash FROM curated")}


def kept_per_prompt(wh: Warehouse) -> dict[str, int]:
    return {r["prompt_id"]: r["n"] for r in wh.query("SELECT prompt_id, count(*) AS n FROM curated GROUP BY prompt_id")}


def eval_prompt_texts(wh: Warehouse) -> list[dict]:
    """Every prompt training must not reproduce: the held-out split and public eval sets (all but train and
    the synthesis writers' `knowledge` prompts)."""
    return wh.query("SELECT prompt_id, text FROM prompts WHERE split NOT IN ('train', 'knowledge')")


def store_outcomes(wh: Warehouse, con: Any, kept: list[dict], rejected: list[dict]) -> None:
    """Write kept and rejected rows on `con` (the caller's transaction)."""
    wh.insert("curated", kept, con=con)
    wh.insert("rejections", rejected, con=con)
