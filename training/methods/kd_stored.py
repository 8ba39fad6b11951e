"""kd `source: stored`: offline top-k distillation from the logprobs captured at generation time.

Black-box teachers behind an API can only be distilled this way: their top-k next-token logprobs are recorded
when they answer (`generation_logprobs`: ids in the teacher's vocabulary, with its size and hash, from the
transformers and vLLM backends, and from an OpenAI-compatible server asked for token ids), and nothing runs
the teacher again at training time.

Alignment. Curation rewrites the teacher's text into the snapshot's training target, and the stored top-k
describes the teacher's own tokens, not that target. Re-tokenising the target and matching positions by text
would misalign wherever the rewrite touched (and a re-tokenisation may split differently even where it did
not). So a distilled row trains on the teacher's own token ids: the student's prompt (its chat template, as
TRL renders it) followed by exactly the tokens the teacher generated, the stored top-k at each of them; the
verdict and curation still decide which generations are rows. An EOS is appended when the teacher stopped at
max_tokens (CE only there). General rows, and rows without usable top-k under `missing: ce`, train on their
text with CE only. Truncation to max_length cuts the top-k with the tokens, so positions never shift.

Checks before the first step: every stored row must index the student's vocabulary (same size and hash;
the one-line refusal names both), and distilled rows without stored ids are counted: refused with the fix
(default), or trained on CE only (`missing: ce`), said on stderr and kept in the run's metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("distillery.training.kd")

TEACHER_COLUMNS = ("token_ids", "top_ids", "top_logprobs", "vocab_size", "vocab_hash")


@dataclass(frozen=True)
class Coverage:
    """What the stored logprobs cover in one snapshot, counted before training."""

    distilled: int
    with_topk: int
    general: int
    top_k: int  # the k trained on: min(config top_k, the smallest stored k)

    @property
    def missing(self) -> int:
        return self.distilled - self.with_topk

    def line(self) -> str:
        return (f"kd (stored top-k): {self.with_topk} of {self.distilled} distilled rows have the teacher's top-"
                f"{self.top_k}; {self.missing} without; {self.general} general rows train on CE only")


STORE_FIX = ("rows get stored top-k when the teacher generates them with `logprobs: 20` (transformers or vllm "
             "backend, or openai with `tokenizer:` on a server that returns token ids); generations stored without "
             "them are not asked again, so for a local teacher use kd `source: forward`")
MISSING_FIX = STORE_FIX + ", or `missing: ce` to train those rows on CE only"


def _usable(row: dict) -> bool:
    return bool(row.get("token_ids")) and row.get("top_ids") is not None and row.get("top_logprobs") is not None


def check_stored(rows: list[dict], student: str, student_tokenizer: Any, top_k: int, missing: str) -> Coverage:
    """Count the rows' stored top-k and refuse (ValueError, one line) what cannot train: another vocabulary, or
    distilled rows without ids unless `missing` is "ce"."""
    from generators.local_models import vocab_fingerprint

    size, vocab_hash = vocab_fingerprint(student_tokenizer)
    distilled = [r for r in rows if r["kind"] == "distilled"]
    usable = [r for r in distilled if _usable(r)]
    other = {(r["vocab_size"], r["vocab_hash"]) for r in usable} - {(size, vocab_hash)}
    if other:
        t_size, t_hash = sorted(other, key=str)[0]
        raise ValueError(f"kd needs one vocabulary: the stored top-k index a teacher vocabulary of {t_size:,} tokens "
                         f"(vocab {t_hash}), student {student} has {size:,} tokens (vocab {vocab_hash}); use a "
                         "student with the teacher's tokenizer, or method sft")
    stored_k = min((min((len(ids) for ids in r["top_ids"]), default=top_k) for r in usable), default=top_k)
    coverage = Coverage(len(distilled), len(usable), len(rows) - len(distilled), max(1, min(top_k, stored_k)))
    if not usable:
        raise ValueError(f"kd source stored: none of the {len(distilled)} distilled rows has stored top-k token ids; "
                         f"{STORE_FIX}")
    if coverage.missing and missing != "ce":
        raise ValueError(f"kd source stored: {coverage.missing} of {len(distilled)} distilled rows have no stored "
                         f"top-k token ids; {MISSING_FIX}")
    if coverage.missing:
        log.warning("%s: those train on CE only (missing: ce)", coverage.line())
    return coverage


def chat_ids(tokenizer: Any, messages: list[dict], **kwargs: Any) -> list[int]:
    """The chat template's token ids for `messages` (a list whether the tokenizer returns one or an encoding)."""
    out = tokenizer.apply_chat_template(messages, tokenize=True, **kwargs)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


def tokenize_row(row: dict, tokenizer: Any, top_k: int, max_length: int) -> dict:
    """One snapshot row -> input_ids, labels (-100 on the prompt) and, per position, the teacher's top-k of the
    token there (empty lists where there is none)."""
    prompt = chat_ids(tokenizer, row["prompt"], add_generation_prompt=True)
    top_ids: list[list[int]] = []
    top_logprobs: list[list[float]] = []
    if _usable(row):
        completion = list(row["token_ids"])
        for ids, lps in zip(row["top_ids"], row["top_logprobs"]):
            full = len(ids) >= top_k  # a position with fewer alternatives trains on CE only
            top_ids.append(list(ids[:top_k]) if full else [])
            top_logprobs.append([float(v) for v in lps[:top_k]] if full else [])
        if completion[-1] != tokenizer.eos_token_id:
            completion.append(tokenizer.eos_token_id)
    else:
        whole = chat_ids(tokenizer, row["prompt"] + row["completion"])
        if whole[: len(prompt)] != prompt:
            raise ValueError("kd source stored: the chat template renders the prompt differently inside the "
                             "conversation; use source: forward or method sft with this tokenizer")
        completion = whole[len(prompt):]
    positions = len(prompt) + len(completion)
    pad = positions - len(prompt) - len(top_ids)
    top_ids = [[] for _ in prompt] + top_ids + [[] for _ in range(pad)]
    top_logprobs = [[] for _ in prompt] + top_logprobs + [[] for _ in range(pad)]
    input_ids = (prompt + completion)[:max_length]
    labels = ([-100] * len(prompt) + completion)[:max_length]
    return {"input_ids": input_ids, "labels": labels, "kd_ids": top_ids[:max_length],
            "kd_logprobs": top_logprobs[:max_length]}


def stored_dataset(dataset: Any, tokenizer: Any, coverage: Coverage, max_length: int):
    """The snapshot's rows, tokenised for training on the stored top-k (a `datasets.Dataset` TRL takes as is)."""
    from datasets import Dataset

    rows = [tokenize_row(dict(r), tokenizer, coverage.top_k, max_length) for r in dataset]
    return Dataset.from_list([r for r in rows if any(label != -100 for label in r["labels"])])


class StoredTopKCollator:
    """TRL's collator for input_ids / labels, plus the per-position top-k padded to [B, L, k] and a mask of the
    positions that have one."""

    def __init__(self, base: Any, top_k: int):
        self.base, self.top_k = base, top_k

    def __call__(self, examples: list[dict]) -> dict:
        import torch

        batch = self.base([{"input_ids": e["input_ids"], "labels": e["labels"]} for e in examples])
        size, length, k = len(examples), batch["input_ids"].size(1), self.top_k
        ids = torch.zeros(size, length, k, dtype=torch.long)
        logprobs = torch.zeros(size, length, k)
        has = torch.zeros(size, length, dtype=torch.bool)
        for b, e in enumerate(examples):
            for t, (row_ids, row_lps) in enumerate(zip(e["kd_ids"], e["kd_logprobs"])):
                if row_ids:
                    ids[b, t], logprobs[b, t], has[b, t] = torch.tensor(row_ids), torch.tensor(row_lps), True
        return {**batch, "kd_ids": ids, "kd_logprobs": logprobs, "kd_has": has}
