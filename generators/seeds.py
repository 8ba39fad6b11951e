"""Seed loading and validation: JSONL or YAML files of problems with references.

Every problem is checked before the first teacher call; the first bad row stops
the run with an `InputError` naming the file, the line and the fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REQUIRED = ("id", "domain", "question")
SPLITS = ("train", "eval")


class InputError(ValueError):
    """Bad user input (seed, template or recipe), located and with a fix."""

    def __init__(self, file: str | Path, line: int | None, problem: str, fix: str):
        self.file, self.line, self.problem, self.fix = str(file), line, problem, fix
        where = f"{file}:{line}" if line else str(file)
        super().__init__(f"{where}: {problem}\n  fix: {fix}")


@dataclass(frozen=True)
class Seed:
    seed_id: str
    domain: str
    question: str
    reference: str | None
    split: str
    topic: str | None
    source_file: str
    source_line: int
    payload: dict[str, Any] = field(hash=False)

    def variables(self) -> dict[str, Any]:
        """What a template may use: every field of the seed row."""
        return dict(self.payload)


def read_utf8(path: str | Path) -> str:
    """A file's text; bytes that are not UTF-8 are an InputError naming the line and the byte offset."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(path, line, f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                         f"({exc.reason})", "save the file as UTF-8") from None


def load_seeds(path: str | Path) -> list[Seed]:
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, "seed file not found", "check the `seeds:` paths in the recipe")
    rows = _read_rows(path)
    seeds, seen = [], {}
    for line, row in rows:
        seed = _to_seed(path, line, row)
        if seed.seed_id in seen:
            raise InputError(path, line, f"duplicate id {seed.seed_id!r} (first on line {seen[seed.seed_id]})",
                             "give every seed a unique `id`")
        seen[seed.seed_id] = line
        seeds.append(seed)
    if not seeds:
        raise InputError(path, None, "no seeds in file", "add at least one row")
    return seeds


def _read_rows(path: Path) -> list[tuple[int, Any]]:
    if path.suffix in (".yaml", ".yml"):
        return _read_yaml(path)
    if path.suffix != ".jsonl":
        raise InputError(path, None, f"unsupported seed format {path.suffix!r}", "use .jsonl, .yaml or .yml")
    rows = []
    for line, text in enumerate(read_utf8(path).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            rows.append((line, json.loads(text)))
        except json.JSONDecodeError as exc:
            raise InputError(path, line, f"malformed JSON ({exc.msg} at column {exc.colno})",
                             "make each line one JSON object") from None
    return rows


def _read_yaml(path: Path) -> list[tuple[int, Any]]:
    try:
        text = read_utf8(path)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, mark.line + 1 if mark else None, f"malformed YAML: {exc}", "fix the YAML syntax") from None
    if root is None or not isinstance(root, yaml.SequenceNode):
        raise InputError(path, 1, "a YAML seed file must be a list of mappings", "write `- id: ...` items")
    data = yaml.safe_load(text)
    return [(node.start_mark.line + 1, item) for node, item in zip(root.value, data)]


def _to_seed(path: Path, line: int, row: Any) -> Seed:
    if not isinstance(row, dict):
        raise InputError(path, line, f"expected an object, got {type(row).__name__}", "make each row a mapping")
    missing = [k for k in REQUIRED if not str(row.get(k, "")).strip()]
    if missing:
        raise InputError(path, line, f"missing required field(s): {', '.join(missing)}",
                         f"every seed needs {', '.join(REQUIRED)}")
    split = row.get("split", "train")
    if split not in SPLITS:
        raise InputError(path, line, f"unknown split {split!r}", f"use one of {', '.join(SPLITS)}")
    answer = row.get("answer")
    return Seed(
        seed_id=str(row["id"]), domain=str(row["domain"]), question=str(row["question"]),
        reference=None if answer is None else str(answer), split=split, topic=row.get("topic"),
        source_file=str(path), source_line=line, payload=row,
    )
