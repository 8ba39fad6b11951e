"""Quality filters: each looks at one row alone (no state), cheapest first."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from curation.config import CurationConfig
from curation.filters.base import Filter, Reject
from warehouse.db import Warehouse


class EvalPrompt(Filter):
    """The prompt is in the held-out split: never trained on, by construction."""

    name = "eval_prompt"

    def check(self, row: dict) -> Reject | None:
        return Reject("eval_prompt", {"split": row["split"]}) if row["split"] != "train" else None


class NotVerified(Filter):
    """The verifier did not pass it (its verdict is kept as evidence)."""

    name = "not_verified"

    def check(self, row: dict) -> Reject | None:
        if row["passed"]:
            return None
        return Reject("not_verified", {"verdict": row["verdict_reason"], "extracted": row["extracted"]})


class Truncated(Filter):
    """The teacher hit max_tokens."""

    name = "truncated"

    def check(self, row: dict) -> Reject | None:
        return Reject("truncated") if row["finish_reason"] == "length" else None


class EmptyAnswer(Filter):
    """No reasoning and no answer text."""

    name = "empty_answer"

    def check(self, row: dict) -> Reject | None:
        empty = not (row["reasoning"] or "").strip() and not (row["answer"] or "").strip()
        return Reject("empty_answer") if empty else None


class MalformedReasoning(Filter):
    """An unclosed `<think>`, or (require_reasoning) no reasoning at all."""

    name = "malformed_reasoning"

    def __init__(self, require_reasoning: bool):
        self.require_reasoning = require_reasoning

    def check(self, row: dict) -> Reject | None:
        raw = row["raw"] or ""
        if raw.count("<think>") != raw.count("</think>"):
            return Reject("malformed_reasoning", {"problem": "unbalanced <think> tags"})
        if self.require_reasoning and not (row["reasoning"] or "").strip():
            return Reject("malformed_reasoning", {"problem": "no reasoning"})
        return None

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter:
        return cls(cfg.require_reasoning)


class TokenBounds(Filter):
    """Completion tokens outside [min_tokens, max_tokens]: `too_short` / `too_long`."""

    name = "token_bounds"

    def __init__(self, min_tokens: int, max_tokens: int | None):
        self.min_tokens, self.max_tokens = min_tokens, max_tokens

    def check(self, row: dict) -> Reject | None:
        tokens = row["completion_tokens"] or 0
        if tokens < self.min_tokens:
            return Reject("too_short", {"completion_tokens": tokens, "min_tokens": self.min_tokens})
        if self.max_tokens is not None and tokens > self.max_tokens:
            return Reject("too_long", {"completion_tokens": tokens, "max_tokens": self.max_tokens})
        return None

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter:
        return cls(cfg.min_tokens, cfg.max_tokens)


class Repetitive(Filter):
    """Repeated lines or word 4-grams beyond the thresholds (see `repetition`)."""

    name = "repetitive"

    def __init__(self, max_lines: float, max_ngrams: float):
        self.max_lines, self.max_ngrams = max_lines, max_ngrams

    def check(self, row: dict) -> Reject | None:
        lines, ngrams = repetition(row["response"])
        if lines > self.max_lines or ngrams > self.max_ngrams:
            return Reject("repetitive", {"repeated_lines": round(lines, 3), "repeated_ngrams": round(ngrams, 3)})
        return None

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter:
        return cls(cfg.max_repeated_lines, cfg.max_repeated_ngrams)


class LanguageMismatch(Filter):
    """The response is written in another script than the prompt (judged on 20+ letters each)."""

    name = "language_mismatch"

    def check(self, row: dict) -> Reject | None:
        want, got = dominant_script(row["prompt_text"]), dominant_script(row["response"])
        if want and got and want != got:
            return Reject("language_mismatch", {"prompt_script": want, "response_script": got})
        return None

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter | None:
        return cls() if cfg.check_language else None


def repetition(text: str) -> tuple[float, float]:
    """(share of non-empty lines that repeat an earlier line, share of word 4-grams that repeat an earlier one).

    Each is 0 for texts too short to judge (fewer than 4 lines / 40 words).
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line_share = 1 - len(set(lines)) / len(lines) if len(lines) >= 4 else 0.0
    words = words_of(text)
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


def words_of(text: str) -> list[str]:
    """Lower-cased words, each punctuation mark or operator a word of its own."""
    return re.findall(r"\w+|[^\w\s]", text.lower())
