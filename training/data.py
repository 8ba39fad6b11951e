"""Snapshot -> training dataset: each row one prompt/completion conversation (TRL's conversational format).

Rows read with their stored teacher logprobs (kd `source: stored`) keep them, with the row's kind, as extra
columns: the teacher's token ids, its top-k ids and logprobs per token, and its vocabulary's size and hash.
"""

from __future__ import annotations

TEACHER_COLUMNS = ("kind", "token_ids", "top_ids", "top_logprobs", "vocab_size", "vocab_hash")


def to_dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": r["prompt"]}],
         "completion": [{"role": "assistant", "content": r["completion"]}],
         **{k: r[k] for k in TEACHER_COLUMNS if "top_ids" in r}}
        for r in rows
    ])
