"""Split a teacher response into reasoning and final answer (pure, no model).

Rules, in order:
1. `<think>...</think>` present: the reasoning is inside, the answer is what follows
   the closing tag. An unclosed `<think>` keeps everything as reasoning and an
   empty answer (the response was cut off while thinking).
2. Otherwise the answer is the last non-empty line that states one
   (`\\boxed{`, "answer is", "Answer:"), and the reasoning is everything before it.
3. Otherwise the whole text is the answer and the reasoning is empty.
"""

from __future__ import annotations

import re

_ANSWER_LINE = re.compile(r"\\boxed\{|\\fbox\{|answer is|answer:", re.IGNORECASE)


def split_reasoning(text: str) -> tuple[str, str]:
    """Return (reasoning, answer) for one response."""
    if "<think>" in text or "</think>" in text:
        head, sep, tail = text.partition("</think>")
        reasoning = head.split("<think>", 1)[-1].strip()
        return reasoning, tail.strip() if sep else ""
    lines = text.rstrip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if _ANSWER_LINE.search(lines[i]):
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i:]).strip()
    return "", text.strip()


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
