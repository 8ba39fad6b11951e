"""Problem synthesis from seed knowledge, labelled by self-consistency.

The method below is pure functions plus two stage functions, `register_problems`
(step 2-3) and `label_problems` (step 4), which read and write through
warehouse/synthesis.py; flows/synthesize.py runs them as Prefect tasks. Answer
extraction and comparison come in as callables (the flow builds them from
`verifiers`), so this package does not depend on the verifiers.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from generators.rows import prompt_row, seed_row
from generators.seeds import InputError, Seed, _read_rows
from generators.teachers import TeacherConfig
from generators.templates import Prompt, Template, render_prompts
from warehouse import synthesis as store
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id

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


def register_problems(wh: Warehouse, knowledge_prompts: Sequence[Prompt], prompts: Sequence[Prompt],
                      templates: dict[str, Template], near_copy_threshold: float, run_id: str) -> dict:
    """Read a problem from every writer response not yet looked at; keep the ones that are new.

    `prompts` are the recipe's rendered prompts (eval ones included: a new problem never re-asks them);
    kept problems become train seeds and prompts rendered with `templates`. Returns counts per status.
    """
    knowledge = {p.prompt_id: p.seed for p in knowledge_prompts}
    fresh = [r for r in store.unread_responses(wh) if r["prompt_id"] in knowledge]
    if not fresh:
        return {}
    pool = {r["prompt_id"]: shingles(r["text"]) for r in store.non_knowledge_prompts(wh)}
    pool.update({p.prompt_id: shingles(p.text) for p in prompts})  # eval prompts included: never re-ask them
    stamp = now()
    problems, seeds, new_prompts, counts = [], [], [], {"accepted": 0, "near_copy": 0, "unparseable": 0}
    for r in fresh:
        row, prompt = _read_problem(r, knowledge[r["prompt_id"]], pool, templates, near_copy_threshold)
        problems.append({**row, "run_id": run_id, "created_at": stamp})
        counts[row["status"]] += 1
        if prompt is not None:
            pool[prompt.prompt_id] = shingles(prompt.text)  # later problems must differ from this one too
            seeds.append(seed_row(prompt.seed, run_id, stamp))
            new_prompts.append(prompt_row(prompt, run_id, stamp))
    store.store_problems(wh, seeds, new_prompts, problems)
    return counts


def _read_problem(response: dict, item: Seed, pool: dict[str, frozenset], templates: dict[str, Template],
                  near_copy_threshold: float) -> tuple[dict, Prompt | None]:
    """The `synth_problems` row (less run_id, created_at) for one writer response, and the new prompt if kept."""
    question = parse_problem(response["raw"])
    row = {"problem_id": response["generation_id"], "knowledge_id": item.seed_id, "question": question}
    if question is None:
        return {**row, "status": "unparseable"}, None
    similar, score = nearest(shingles(question), pool)
    if similar is not None and score >= near_copy_threshold:
        return {**row, "status": "near_copy", "similar_prompt_id": similar, "similarity": score}, None
    prompt = render_prompts([problem_seed(item, question, response["generation_id"])], templates)[0]
    return {**row, "status": "accepted", "similar_prompt_id": similar, "similarity": score,
            "seed_id": prompt.seed.seed_id, "prompt_id": prompt.prompt_id}, prompt


def problem_seed(item: Seed, question: str, problem_id: str) -> Seed:
    """The train seed of a kept problem: id from its domain and text, so the same problem is one seed."""
    seed_id = f"synth-{stable_id(item.domain, question, length=12)}"
    return Seed(seed_id=seed_id, domain=item.domain, question=question, reference=None, split="train",
                topic=item.topic, source_file=item.source_file, source_line=item.source_line,
                payload={"id": seed_id, "domain": item.domain, "topic": item.topic, "question": question,
                         "knowledge_id": item.seed_id, "problem_id": problem_id})


def label_problems(wh: Warehouse, teacher_for: Callable[[str], TeacherConfig], solutions: int,
                   min_agreement: float, same_answer: Callable[[str], Callable[[str, str], bool]],
                   extract: Callable[[str], str | None], run_id: str) -> dict:
    """Self-consistency labels for synthesized prompts whose k (`solutions`) answers from the domain's
    teacher are all stored. `extract(text)` reads a solution's final answer; `same_answer(domain)(a, b)`
    tells whether two answers agree. Returns labelled and accepted counts."""
    texts, domain_of = _solutions_by_prompt(store.unlabelled_solutions(wh), teacher_for)
    equal = {d: same_answer(d) for d in set(domain_of.values())}
    rows, stamp = [], now()
    for prompt_id, answers in texts.items():
        if len(answers) < solutions:
            continue  # some solutions failed or the budget stopped: label when all k are in
        label = majority_label([extract(t) for t in answers[:solutions]], equal[domain_of[prompt_id]])
        rows.append(_label_row(prompt_id, label, min_agreement, run_id, stamp))
    store.store_labels(wh, rows)
    return {"labelled": len(rows), "accepted": sum(r["accepted"] for r in rows)}


def _solutions_by_prompt(rows: list[dict], teacher_for: Callable[[str], TeacherConfig]
                         ) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The raw solutions per prompt from its domain's teacher (other teachers' answers do not vote), and
    each prompt's domain."""
    texts: dict[str, list[str]] = {}
    domain_of: dict[str, str] = {}
    for r in rows:
        if r["teacher_id"] == teacher_for(r["domain"]).teacher_id:
            texts.setdefault(r["prompt_id"], []).append(r["raw"])
            domain_of[r["prompt_id"]] = r["domain"]
    return texts, domain_of


def _label_row(prompt_id: str, label: Label, min_agreement: float, run_id: str, stamp: datetime) -> dict:
    return {"prompt_id": prompt_id, "method": "self_consistency", "label": label.answer,
            "agreement": label.agreement, "votes": label.votes, "samples": label.samples,
            "accepted": label.accepted(min_agreement), "min_agreement": min_agreement, "groups": label.groups,
            "run_id": run_id, "created_at": stamp}
