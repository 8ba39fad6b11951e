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

