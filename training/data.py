"""Snapshot -> training dataset: each row one prompt/completion conversation (TRL's conversational format)."""

from __future__ import annotations


def to_dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": r["prompt"]}],
         "completion": [{"role": "assistant", "content": r["completion"]}]}
        for r in rows
    ])
