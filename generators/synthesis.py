"""Problem synthesis from seed knowledge, labelled by self-consistency (pure functions; flows/synthesize.py runs them).

1. Seed knowledge (topics, facts, a worked example) is rendered with a Jinja2
   generation template and sent to a writer teacher, `problems_per_item` samples
   per item. Each response should contain one line starting `Problem:`.
2. A new problem that is a near-copy of a prompt already in the warehouse (train
   *or* eval) or of another new problem is dropped: Jaccard similarity of word
   3-gram shingles at or above `near_copy_threshold`. Numbers are words here, so
   "What is 12 + 7?" and "What is 13 + 7?" are different problems.
3. Each kept problem becomes a train seed and prompt, and the domain's teacher
   solves it `solutions` (k) times like any other prompt.
4. The answers are grouped by sympy-backed equivalence (`answers_equivalent`);
   the largest group's share of the k samples is the agreement. At or above
   `min_agreement` (and with no tie for the largest group) its answer becomes the
   problem's reference, so the usual verifier then passes exactly the majority
   samples. Below it, the problem keeps no label and none of its samples trains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generators.seeds import InputError, _read_rows

KNOWLEDGE_REQUIRED = ("id", "domain", "topic")
_PROBLEM = re.compile(r"^\s*(?:\*\*)?problem(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*(.+)$", re.IGNORECASE)
_STOP = re.compile(r"^\s*(?:\*\*)?(answer|solution|final answer)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SynthesisConfig:
    knowledge: str = field(default="", metadata={"help": "JSONL/YAML of {id, domain, topic, facts, example}"})
    template: str = field(default="", metadata={"help": "Jinja2 template asking the writer for one problem"})
    problems_per_item: int = field(default=2, metadata={"help": "writer samples per knowledge item"})
    solutions: int = field(default=4, metadata={"help": "k: solutions per new problem, for the majority vote"})
    min_agreement: float = field(default=0.75, metadata={"help": "majority share needed to label a problem"})
    near_copy_threshold: float = field(default=0.7, metadata={"help": "word 3-gram Jaccard at which a new "
                                                                        "problem counts as a copy"})
    writer: dict = field(default_factory=dict, metadata={"help": "teacher fields that differ for the writer"})

    def __post_init__(self) -> None:
        if not self.knowledge or not self.template:
            raise ValueError("synthesis needs `knowledge` and `template` paths")
        if self.problems_per_item < 1 or self.solutions < 1:
            raise ValueError("synthesis problems_per_item and solutions must be >= 1")
        if not 0 < self.min_agreement <= 1 or not 0 < self.near_copy_threshold <= 1:
            raise ValueError("synthesis min_agreement and near_copy_threshold must be in (0, 1]")
        if not isinstance(self.writer, dict):
            raise ValueError("synthesis writer must be a mapping of teacher fields")


@dataclass(frozen=True)
class KnowledgeItem:
    item_id: str
    domain: str
    topic: str
    source_file: str
    source_line: int
    payload: dict[str, Any]


def load_knowledge(path: str | Path) -> list[KnowledgeItem]:
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "knowledge file not found", "check `synthesis.knowledge` in the recipe")
    items, seen = [], {}
    for line, row in _read_rows(path):
        if not isinstance(row, dict):
            raise InputError(path, line, "expected a mapping", "write one {id, domain, topic, facts} item per row")
        missing = [k for k in KNOWLEDGE_REQUIRED if not str(row.get(k, "")).strip()]
        if missing:
            raise InputError(path, line, f"missing required field(s): {', '.join(missing)}",
                             f"every knowledge item needs {', '.join(KNOWLEDGE_REQUIRED)}")
        item_id = str(row["id"])
        if item_id in seen:
            raise InputError(path, line, f"duplicate id {item_id!r} (first on line {seen[item_id]})",
                             "give every knowledge item a unique `id`")
        seen[item_id] = line
        items.append(KnowledgeItem(item_id, str(row["domain"]), str(row["topic"]), str(path), line, row))
    if not items:
        raise InputError(path, None, "no knowledge items in file", "add at least one item")
    return items


def parse_problem(text: str) -> str | None:
    """The problem a writer response states (`Problem: ...`, possibly over several lines), or None."""
    lines = text.strip().splitlines()
    for i, line in enumerate(lines):
        m = _PROBLEM.match(line)
        if not m:
            continue
        body = [m.group(1).strip()]
        for more in lines[i + 1:]:
            if not more.strip() or _STOP.match(more):
                break
            body.append(more.strip())
        problem = " ".join(body).strip().strip("*").strip()
        return problem if len(problem) >= 8 else None
    return None


def shingles(text: str, n: int = 3) -> frozenset[str]:
    words = re.findall(r"\w+|[^\w\s]", text.lower())
    if len(words) < n:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def nearest(candidate: frozenset, pool: dict[str, frozenset]) -> tuple[str | None, float]:
    """(id, similarity) of the most similar text in `pool` (exact Jaccard; fine for thousands of prompts)."""
    best, score = None, 0.0
    for key, other in pool.items():
        s = jaccard(candidate, other)
        if s > score:
            best, score = key, s
    return best, score


@dataclass(frozen=True)
class Label:
    answer: str | None  # the majority answer, None when there is none (no answers, tie)
    agreement: float  # the largest group's share of all samples
    votes: int
    samples: int
    groups: list[dict]  # [{"answer": representative, "count": n}], largest first

    def accepted(self, min_agreement: float) -> bool:
        return self.answer is not None and self.agreement >= min_agreement


def majority_label(answers: list[str | None], equivalent) -> Label:
    """Group extracted answers by `equivalent(a, b) -> bool`; the largest group labels the problem."""
    groups: list[list[str]] = []
    for a in answers:
        if a is None:
            continue
        for g in groups:
            if equivalent(a, g[0]):
                g.append(a)
                break
        else:
            groups.append([a])
    groups.sort(key=len, reverse=True)
    summary = [{"answer": max(set(g), key=g.count), "count": len(g)} for g in groups]
    if not groups or (len(groups) > 1 and len(groups[0]) == len(groups[1])):
        top = len(groups[0]) if groups else 0
        return Label(None, top / max(len(answers), 1), top, len(answers), summary)
    return Label(summary[0]["answer"], len(groups[0]) / len(answers), len(groups[0]), len(answers), summary)
