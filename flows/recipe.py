"""Recipes: named YAML run configurations, parsed into typed configs and validated once.

`load_recipe` checks the recipe, every seed row and every template render
before anything is written or any teacher is called, and raises `InputError`
naming the file, the line and the fix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generators.seeds import InputError, Seed, load_seeds
from generators.teachers import BACKENDS, TeacherConfig
from generators.templates import Prompt, Template, load_template, render_prompts
from training.config import EvalConfig, SnapshotSpec, TrainConfig

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"


@dataclass(frozen=True)
class CurateConfig:
    max_per_prompt: int = field(default=2, metadata={"help": "distinct verified samples kept per prompt (0 = all)"})


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str
    seeds: list[str]
    templates: dict[str, str]
    teacher: TeacherConfig
    max_prompts: int | None = None  # train prompts sent to the teacher (None = all)
    curate: CurateConfig = CurateConfig()
    snapshot: SnapshotSpec = SnapshotSpec()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Inputs:
    """Everything a recipe's data stage needs, already validated."""

    seeds: list[Seed]
    templates: dict[str, Template]
    prompts: list[Prompt]

    def split(self, name: str) -> list[Prompt]:
        return [p for p in self.prompts if p.seed.split == name]


SECTIONS = {"teacher": TeacherConfig, "curate": CurateConfig, "snapshot": SnapshotSpec,
            "train": TrainConfig, "eval": EvalConfig}
TOP_KEYS = {"name", "seeds", "templates", "max_prompts", *SECTIONS}


def resolve_recipe_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.exists():
        return path
    named = RECIPES_DIR / f"{name_or_path}.yaml"
    if named.exists():
        return named
    known = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))
    raise InputError(name_or_path, None, "recipe not found", f"pass a YAML path or one of: {', '.join(known)}")


def load_recipe(name_or_path: str) -> Recipe:
    path = resolve_recipe_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, mark.line + 1 if mark else None, "malformed YAML", "fix the YAML syntax") from None
    if not isinstance(raw, dict):
        raise InputError(path, 1, "a recipe must be a mapping", "see recipes/quickstart.yaml")
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise InputError(path, _line_of(path, sorted(unknown)[0]), f"unknown key(s): {', '.join(sorted(unknown))}",
                         f"use only: {', '.join(sorted(TOP_KEYS))}")
    for key in ("seeds", "templates", "teacher"):
        if key not in raw:
            raise InputError(path, None, f"missing `{key}:`", "see recipes/quickstart.yaml")
    max_prompts = raw.get("max_prompts")
    if max_prompts is not None and (not isinstance(max_prompts, int) or isinstance(max_prompts, bool)
                                    or max_prompts < 1):
        raise InputError(path, _line_of(path, "max_prompts"), f"max_prompts must be a positive integer, "
                         f"got {max_prompts!r}", "set a count of train prompts, or null for all")
    base = path.parent.parent if path.parent.name == "recipes" else path.parent
    sections = {name: _section(path, name, cls, raw.get(name) or {}) for name, cls in SECTIONS.items()}
    if sections["teacher"].backend not in BACKENDS:
        raise InputError(path, _line_of(path, "backend"), f"unknown teacher backend {sections['teacher'].backend!r}",
                         f"use one of: {', '.join(sorted(BACKENDS))}")
    return Recipe(
        name=str(raw.get("name", path.stem)), source=str(path),
        seeds=[str(_resolve(base, p)) for p in _as_list(raw["seeds"])],
        templates={d: str(_resolve(base, p)) for d, p in dict(raw["templates"]).items()},
        max_prompts=max_prompts, raw=raw, **sections,
    )


def load_inputs(recipe: Recipe) -> Inputs:
    """Load and render everything; any bad seed or template raises before a write or a teacher call."""
    templates = {domain: load_template(domain, p) for domain, p in recipe.templates.items()}
    seeds = [s for path in recipe.seeds for s in load_seeds(path)]
    _check_unique_ids(seeds)
    prompts = render_prompts(seeds, templates)
    return Inputs(seeds=seeds, templates=templates, prompts=prompts)


def _check_unique_ids(seeds: list[Seed]) -> None:
    first: dict[str, Seed] = {}
    for s in seeds:
        if s.seed_id in first:
            other = first[s.seed_id]
            raise InputError(s.source_file, s.source_line,
                             f"seed id {s.seed_id!r} also used at {other.source_file}:{other.source_line}",
                             "seed ids must be unique across all seed files")
        first[s.seed_id] = s


def _section(path: Path, name: str, cls: type, values: Any):
    if not isinstance(values, dict):
        raise InputError(path, _line_of(path, name), f"`{name}:` must be a mapping", "see recipes/quickstart.yaml")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(path, _line_of(path, key), f"unknown key `{name}.{key}`",
                         f"`{name}` takes: {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise InputError(path, _line_of(path, name), f"invalid `{name}`: {exc}", "check the values' types and ranges") from None


def _line_of(path: Path, key: str) -> int | None:
    for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text.lstrip().startswith(f"{key}:"):
            return i
    return None


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _resolve(base: Path, p: str) -> Path:
    path = Path(p)
    return path if path.is_absolute() or path.exists() else base / path
