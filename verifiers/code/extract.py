"""Find the program in a model response.

Rule, in order:

1. Drop a leading chain of thought: everything up to the last ``</think>``
   (drafts written while thinking are not the answer). An unclosed ``<think>``
   with nothing after it leaves the whole text.
2. The **last fenced block** (```` ``` ```` or ``~~~``) whose info string is
   ``python``, ``py``, ``python3`` or ``py3`` (case-insensitive) is the program.
3. Otherwise the last fenced block with an empty info string.
4. Otherwise, with no fences at all, the whole text if it parses as Python and
   defines something (a ``def``, ``class`` or assignment at top level): some
   teachers answer with bare code.
5. Otherwise there is no program (verdict ``no_code``).

Blocks tagged with another language (```` ```bash ````, ```` ```text ````) are
never taken. An unterminated final fence runs to the end of the text (a
response cut off by max tokens still has its program judged; it will usually
fail to compile, which is the honest verdict).
"""

from __future__ import annotations

import ast
import re

PY_TAGS = {"python", "py", "python3", "py3"}
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([^\n`]*)$", re.MULTILINE)


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of each fenced block, in order."""
    blocks: list[tuple[str, str]] = []
    pos = 0
    while True:
        m = _FENCE.search(text, pos)
        if not m:
            return blocks
        fence, info = m.group(1), m.group(2).strip()
        body_start = m.end() + 1
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.MULTILINE)
        c = close.search(text, body_start)
        if c is None:
            blocks.append((info, text[body_start:]))
            return blocks
        blocks.append((info, text[body_start:c.start()]))
        pos = c.end()


def _looks_like_program(text: str) -> bool:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign)) for n in tree.body)


def extract_program(response: str | None) -> str | None:
    """The candidate program in `response`, or None (see the module docstring for the rule)."""
    if not response:
        return None
    text = response.replace("\r\n", "\n")
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    blocks = _fenced_blocks(text)
    tagged = [body for info, body in blocks if (info.split() or [""])[0].lower() in PY_TAGS]
    tagged = [b for b in tagged if b.strip()]
    if tagged:
        return tagged[-1]
    plain = [body for info, body in blocks if not info and body.strip()]
    if plain:
        return plain[-1]
    if not blocks and text.strip() and _looks_like_program(text):
        return text
    return None
