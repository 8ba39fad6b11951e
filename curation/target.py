"""What a student learns from a kept generation: its training target (pure text, no model).

Curation dedups on the training target and snapshots store it as the completion,
so both read it from here.
"""

from __future__ import annotations

import hashlib
import re


def response_text(row: dict) -> str:
    """The response as written, without `<think>` tags: the reasoning, then the answer text."""
    return "\n".join(part.strip() for part in (row["reasoning"] or "", row["answer"] or "") if part.strip())


def training_target(reasoning: str, answer: str, domain: str = "math", response: str | None = None) -> str:
    """The assistant turn a student learns: the teacher's reasoning, then one canonical final line.

    The final line always has the same shape so the student learns where and how
    to state its answer (a naive run that trained on raw responses never learned
    to write `\\boxed{}`). For code the verified program is the answer and the
    response is kept as the teacher wrote it (`response`: reasoning and answer text,
    without `<think>` tags): the extracted program alone would drop the explanation.
    """
    if domain == "code":
        return (response or answer).strip()
    final = f"The answer is \\boxed{{{answer}}}."
    return f"{reasoning.strip()}\n{final}" if reasoning.strip() else final


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def exact_key(prompt_id: str, target: str) -> str:
    """Exact-duplicate key: the prompt and the whitespace- and case-normalised training target."""
    return hashlib.sha256(f"{prompt_id}\n{normalise(target)}".encode()).hexdigest()[:16]
