"""Curation: decide, once, for every verified generation whether it is kept or rejected.

Each generation gets exactly one outcome, a row in `curated` or in `rejections`
(stage `curate`), so the stage is incremental and safe to rerun: a rerun only
looks at generations that have no outcome yet. Filters run in this order and
the first that fires is the recorded reason:

    eval_prompt      the prompt is in the held-out split (never trained on)
    not_verified     the verifier did not pass it (its reason is kept in details)
    truncated        the teacher hit max_tokens
    empty_answer     no reasoning and no answer text
    exact_duplicate  same prompt and same normalised response as a kept row
    per_prompt_cap   the prompt already has `max_per_prompt` kept rows

Within a prompt, verified rows are considered first and shorter responses
before longer ones, so the cap keeps the most concise correct samples.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from generators.parsing import training_target
from warehouse.db import Warehouse, now, stable_id

STAGE = "curate"

_CANDIDATES = """
    SELECT g.generation_id, g.prompt_id, g.reasoning, g.answer, g.finish_reason, p.split, p.domain,
           v.passed, v.reason AS verdict_reason, v.extracted
    FROM generations g
    JOIN prompts p USING (prompt_id)
    JOIN (SELECT * FROM verifications
          QUALIFY row_number() OVER (PARTITION BY generation_id ORDER BY created_at DESC) = 1) v
      USING (generation_id)
    WHERE g.generation_id NOT IN (SELECT generation_id FROM curated)
      AND g.generation_id NOT IN (SELECT generation_id FROM rejections WHERE stage = 'curate')
    ORDER BY g.prompt_id, v.passed DESC, g.completion_tokens, g.generation_id
"""


@dataclass
class CurationStats:
    considered: int = 0
    kept: int = 0
    rejected: Counter | None = None

    def as_dict(self) -> dict:
        return {"considered": self.considered, "kept": self.kept, "rejected": dict(self.rejected or {})}


def response_text(row: dict) -> str:
    return "\n".join(part.strip() for part in (row["reasoning"] or "", row["answer"] or "") if part.strip())


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def curate(wh: Warehouse, run_id: str, max_per_prompt: int = 2) -> CurationStats:
    candidates = wh.query(_CANDIDATES)
    kept_hashes = {r["content_hash"] for r in wh.query("SELECT content_hash FROM curated")}
    per_prompt = Counter({r["prompt_id"]: r["n"] for r in
                          wh.query("SELECT prompt_id, count(*) AS n FROM curated GROUP BY prompt_id")})
    kept, rejected, reasons = [], [], Counter()
    for row in candidates:
        target = training_target(row["reasoning"] or "", row["extracted"] or "", row["domain"], response_text(row))
        content_hash = hashlib.sha256(f"{row['prompt_id']}\n{normalise(target)}".encode()).hexdigest()[:16]
        reason, details = _reject_reason(row, content_hash, kept_hashes, per_prompt, max_per_prompt)
        if reason:
            reasons[reason] += 1
            rejected.append({"rejection_id": stable_id(STAGE, row["generation_id"]), "stage": STAGE,
                             "generation_id": row["generation_id"], "reason": reason, "details": details,
                             "run_id": run_id, "created_at": now()})
            continue
        kept_hashes.add(content_hash)
        per_prompt[row["prompt_id"]] += 1
        kept.append({"generation_id": row["generation_id"], "prompt_id": row["prompt_id"],
                     "content_hash": content_hash, "run_id": run_id, "created_at": now()})
    with wh.connect() as con:
        con.execute("BEGIN")
        wh.insert("curated", kept, con=con)
        wh.insert("rejections", rejected, con=con)
        con.execute("COMMIT")
    return CurationStats(considered=len(candidates), kept=len(kept), rejected=reasons)


def _reject_reason(row: dict, content_hash: str, kept_hashes: set, per_prompt: Counter,
                   max_per_prompt: int) -> tuple[str | None, dict]:
    if row["split"] != "train":
        return "eval_prompt", {"split": row["split"]}
    if not row["passed"]:
        return "not_verified", {"verdict": row["verdict_reason"], "extracted": row["extracted"]}
    if row["finish_reason"] == "length":
        return "truncated", {}
    if not (row["reasoning"] or "").strip() and not (row["answer"] or "").strip():
        return "empty_answer", {}
    if content_hash in kept_hashes:
        return "exact_duplicate", {"content_hash": content_hash}
    if max_per_prompt and per_prompt[row["prompt_id"]] >= max_per_prompt:
        return "per_prompt_cap", {"max_per_prompt": max_per_prompt}
    return None, {}
