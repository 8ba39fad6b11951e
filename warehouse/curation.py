"""Curation: decide, once, for every verified generation whether it is kept or rejected.

Each generation gets exactly one outcome, a row in `curated` or in `rejections`
(stage `curate`), so the stage is incremental and safe to rerun: a rerun only
looks at generations that have no outcome yet. Filters run in this order and
the first that fires is the recorded reason (its evidence is in `details`):

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
    exact_duplicate      same prompt and same normalised response as a kept row
    near_duplicate       MinHash near-duplicate of a kept row, in this run or any earlier one
                         (warehouse/near_dedup.py; the cluster id is the kept row's id)
    per_prompt_cap       the prompt already has `max_per_prompt` kept rows

Which row of a cluster is kept: candidates are considered verified first, then
fewer completion tokens, then generation id, and the first one wins; so within a
prompt the cap keeps the most concise correct samples too.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace

from generators.parsing import training_target
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id

STAGE = "curate"

_CANDIDATES = """
    SELECT g.generation_id, g.prompt_id, g.raw, g.reasoning, g.answer, g.finish_reason, g.completion_tokens,
           p.split, p.domain, p.text AS prompt_text, v.passed, v.reason AS verdict_reason, v.extracted
    FROM generations g
    JOIN prompts p USING (prompt_id)
    JOIN (SELECT * FROM verifications
          QUALIFY row_number() OVER (PARTITION BY generation_id ORDER BY created_at DESC) = 1) v
      USING (generation_id)
    WHERE g.generation_id NOT IN (SELECT generation_id FROM curated)
      AND g.generation_id NOT IN (SELECT generation_id FROM rejections WHERE stage = 'curate')
    ORDER BY g.prompt_id, v.passed DESC, g.completion_tokens, g.generation_id
"""


@dataclass(frozen=True)
class CurationConfig:
    max_per_prompt: int = field(default=2, metadata={"help": "distinct verified samples kept per prompt (0 = all)"})
    require_reasoning: bool = field(default=False, metadata={"help": "reject samples with no reasoning"})
    min_tokens: int = field(default=1, metadata={"help": "fewest completion tokens kept"})
    max_tokens: int | None = field(default=None, metadata={"help": "most completion tokens kept (null = any)"})
    max_repeated_lines: float = field(default=0.5, metadata={"help": "share of repeated non-empty lines "
                                                                       "(responses of 4+ lines)"})
    max_repeated_ngrams: float = field(default=0.5, metadata={"help": "share of repeated word 4-grams "
                                                                        "(responses of 40+ words)"})
    check_language: bool = field(default=True, metadata={"help": "reject responses in another script"})
    decontam_ngram: int = field(default=8, metadata={"help": "word n-gram size for decontamination (an eval "
                                                               "prompt shorter than n must appear whole)"})
    decontam_share: float = field(default=0.5, metadata={"help": "share of an eval prompt's n-grams a train "
                                                                   "prompt or response must contain to be a hit"})
    near_dedup: bool = field(default=True, metadata={"help": "MinHash near-dedup against all kept rows"})

    def __post_init__(self) -> None:
        if self.max_per_prompt < 0 or self.min_tokens < 0 or self.decontam_ngram < 1:
            raise ValueError("max_per_prompt and min_tokens must be >= 0, decontam_ngram >= 1")
        if not all(0 < x <= 1 for x in (self.max_repeated_lines, self.max_repeated_ngrams, self.decontam_share)):
            raise ValueError("max_repeated_lines, max_repeated_ngrams and decontam_share are shares in (0, 1]")


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


def curate(wh: Warehouse, run_id: str, config: CurationConfig | None = None, **changes) -> CurationStats:
    cfg = replace(config or CurationConfig(), **changes)
    candidates = wh.query(_CANDIDATES)
    kept_hashes = {r["content_hash"] for r in wh.query("SELECT content_hash FROM curated")}
    per_prompt = Counter({r["prompt_id"]: r["n"] for r in
                          wh.query("SELECT prompt_id, count(*) AS n FROM curated GROUP BY prompt_id")})
    decontam = Decontaminator(wh.query("SELECT prompt_id, text FROM prompts WHERE split = 'eval'"),
                              cfg.decontam_ngram, cfg.decontam_share)
    near = _near_index(wh, cfg)
    kept, rejected, reasons = [], [], Counter()
    for row in candidates:
        response = response_text(row)
        target = training_target(row["reasoning"] or "", row["extracted"] or "", row["domain"], response)
        content_hash = hashlib.sha256(f"{row['prompt_id']}\n{normalise(target)}".encode()).hexdigest()[:16]
        reason, details = _reject_reason(row, response, cfg, decontam)
        if reason is None and content_hash in kept_hashes:
            reason, details = "exact_duplicate", {"content_hash": content_hash}
        if reason is None and near is not None:
            match = near.check(row["generation_id"], f"{row['prompt_text']}\n{target}")
            if match is not None:
                reason, details = "near_duplicate", {"cluster_id": match.cluster_id, "similar_to": match.kept_id,
                                                     "jaccard": round(match.jaccard, 3)}
        if reason is None and cfg.max_per_prompt and per_prompt[row["prompt_id"]] >= cfg.max_per_prompt:
            reason, details = "per_prompt_cap", {"max_per_prompt": cfg.max_per_prompt}
        if reason:
            reasons[reason] += 1
            rejected.append({"rejection_id": stable_id(STAGE, row["generation_id"]), "stage": STAGE,
                             "generation_id": row["generation_id"], "reason": reason, "details": details,
                             "run_id": run_id, "created_at": now()})
            continue
        kept_hashes.add(content_hash)
        per_prompt[row["prompt_id"]] += 1
        if near is not None:
            near.add(row["generation_id"], f"{row['prompt_text']}\n{target}")
        kept.append({"generation_id": row["generation_id"], "prompt_id": row["prompt_id"],
                     "content_hash": content_hash, "run_id": run_id, "created_at": now()})
    with wh.transaction() as con:
        wh.insert("curated", kept, con=con)
        wh.insert("rejections", rejected, con=con)
        if near is not None:
            near.flush(wh, con=con)
    return CurationStats(considered=len(candidates), kept=len(kept), rejected=reasons)


def _near_index(wh: Warehouse, cfg: CurationConfig):
    if not cfg.near_dedup:
        return None
    from warehouse.near_dedup import NearDupIndex

    return NearDupIndex.load(wh, STAGE)


def _reject_reason(row: dict, response: str, cfg: CurationConfig, decontam: Decontaminator) -> tuple[str | None, dict]:
    if row["split"] != "train":
        return "eval_prompt", {"split": row["split"]}
    if not row["passed"]:
        return "not_verified", {"verdict": row["verdict_reason"], "extracted": row["extracted"]}
    if row["finish_reason"] == "length":
        return "truncated", {}
    if not (row["reasoning"] or "").strip() and not (row["answer"] or "").strip():
        return "empty_answer", {}
    raw = row["raw"] or ""
    if raw.count("<think>") != raw.count("</think>"):
        return "malformed_reasoning", {"problem": "unbalanced <think> tags"}
    if cfg.require_reasoning and not (row["reasoning"] or "").strip():
        return "malformed_reasoning", {"problem": "no reasoning"}
    tokens = row["completion_tokens"] or 0
    if tokens < cfg.min_tokens:
        return "too_short", {"completion_tokens": tokens, "min_tokens": cfg.min_tokens}
    if cfg.max_tokens is not None and tokens > cfg.max_tokens:
        return "too_long", {"completion_tokens": tokens, "max_tokens": cfg.max_tokens}
    lines, ngrams = repetition(response)
    if lines > cfg.max_repeated_lines or ngrams > cfg.max_repeated_ngrams:
        return "repetitive", {"repeated_lines": round(lines, 3), "repeated_ngrams": round(ngrams, 3)}
    if cfg.check_language:
        want, got = dominant_script(row["prompt_text"]), dominant_script(response)
        if want and got and want != got:
            return "language_mismatch", {"prompt_script": want, "response_script": got}
    hit = decontam.hit(row["prompt_text"], response)
    if hit is not None:
        return "decontaminated", hit
    return None, {}


def repetition(text: str) -> tuple[float, float]:
    """(share of non-empty lines that repeat an earlier line, share of word 4-grams that repeat an earlier one).

    Each is 0 for texts too short to judge (fewer than 4 lines / 40 words).
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line_share = 1 - len(set(lines)) / len(lines) if len(lines) >= 4 else 0.0
    words = _words(text)
    grams = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    gram_share = 1 - len(set(grams)) / len(grams) if len(words) >= 40 else 0.0
    return line_share, gram_share


def dominant_script(text: str, min_letters: int = 20) -> str | None:
    """The Unicode script most letters belong to (LATIN, CJK, CYRILLIC, ...), or None below `min_letters`.

    Math and code are mostly digits and symbols, so short or symbol-heavy texts are not judged.
    """
    scripts = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            scripts["CJK" if name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")) else name.split(" ")[0]] += 1
    if sum(scripts.values()) < min_letters:
        return None
    return scripts.most_common(1)[0][0]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+|[^\w\s]", text.lower())


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
            words = _words(p["text"])
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
            words = _words(text)
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
