"""Recipes: named YAML run configurations, parsed into typed configs and validated once.

`load_recipe` checks the recipe, every seed row and every template render
before anything is written or any teacher is called, and raises `InputError`
naming the file, the line and the fix.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from curation.config import CurationConfig
from evaluation.config import EvalConfig
from generators.public import PREFIX as PUBLIC
from generators.public import load_public
from generators.seeds import InputError, Seed, load_seeds, read_utf8
from generators.synthesis import KnowledgeItem, SynthesisConfig, load_knowledge
from generators.teachers import BACKENDS, BudgetConfig, Price, TeacherConfig
from generators.teachers.budget import parse_prices
from generators.templates import Prompt, Template, load_template, render_prompts
from training.config import LocalTeacherConfig, TrainConfig
from training.methods import METHODS, with_method
from training.methods.sft import SFTConfig
from verifiers import verifier_for
from warehouse.snapshot_spec import SnapshotSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RECIPES_DIR = PROJECT_ROOT / "recipes"


@dataclass(frozen=True)
class IterateConfig:
    """The recipe's `iterate:` section: iterated distillation, each round's student the next round's teacher
    (what a round r >= 2 does: flows/iterate.py)."""

    rounds: int = field(default=1, metadata={
        "help": "distillation rounds; 1 = the recipe as written (nothing changes, ids included); each round r >= 2 "
                "samples the same prompts from the base model + round r-1's `train:` student, verifies and curates "
                "them, snapshots the union of every round's kept rows and trains a fresh `train:` student on it"})
    n: int | None = field(default=None, metadata={
        "help": "samples per prompt from round 2's teacher on (null = the recipe teacher's `n`)"})
    temperature: float | None = field(default=None, metadata={
        "help": "sampling temperature from round 2 on (null = the recipe teacher's)"})
    few_shot: bool = field(default=True, metadata={
        "help": "show the round teachers the recipe teacher's `few_shot` turns (false: the student answers bare, as "
                "it was trained)"})

    def __post_init__(self) -> None:
        if isinstance(self.rounds, bool) or not isinstance(self.rounds, int) or not 1 <= self.rounds <= 20:
            raise ValueError(f"rounds must be an integer from 1 to 20, got {self.rounds!r}")
        if self.n is not None and (isinstance(self.n, bool) or self.n < 1):
            raise ValueError(f"n must be a positive integer or null, got {self.n!r}")
        if self.temperature is not None and not 0 <= self.temperature <= 5:
            raise ValueError(f"temperature must be in [0, 5] or null, got {self.temperature!r}")


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str
    seeds: list[str]
    templates: dict[str, str]
    teacher: TeacherConfig
    routes: dict[str, TeacherConfig] = field(default_factory=dict)  # domain -> its own teacher
    max_prompts: int | None = None  # train prompts sent to the teacher (None = all)
    budget: BudgetConfig = BudgetConfig()
    prices: dict[str, Price] = field(default_factory=dict)
    synthesis: SynthesisConfig | None = None
    curate: CurationConfig = CurationConfig()
    snapshot: SnapshotSpec = SnapshotSpec()
    train: TrainConfig = SFTConfig()
    students: tuple[TrainConfig, ...] = ()  # more students trained on the same snapshot (`students:`)
    eval: EvalConfig = EvalConfig()
    iterate: IterateConfig = IterateConfig()
    verify: dict[str, dict[str, Any]] = field(default_factory=dict)  # domain -> its verifier's options
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def teacher_for(self, domain: str) -> TeacherConfig:
        return self.routes.get(domain, self.teacher)

    def writer_for(self, domain: str) -> TeacherConfig:
        """The teacher that writes new problems: the domain's teacher with `synthesis.writer` changes."""
        return dataclasses.replace(self.teacher_for(domain), **(self.synthesis.writer if self.synthesis else {}))

    @property
    def teachers(self) -> list[TeacherConfig]:
        """Every distinct teacher the recipe may call, the default first."""
        out = [self.teacher]
        writers = [self.writer_for(d) for d in self.templates] if self.synthesis else []
        for cfg in [*self.routes.values(), *writers]:
            if cfg not in out:
                out.append(cfg)
        return out


@dataclass(frozen=True)
class Inputs:
    """Everything a recipe's data stage needs, already validated."""

    seeds: list[Seed]
    templates: dict[str, Template]
    prompts: list[Prompt]
    knowledge_prompts: list[Prompt] = field(default_factory=list)  # synthesis: knowledge item -> writer prompt

    def split(self, name: str) -> list[Prompt]:
        return [p for p in self.prompts if p.seed.split == name]


SECTIONS = {"teacher": TeacherConfig, "budget": BudgetConfig, "curate": CurationConfig, "snapshot": SnapshotSpec,
            "train": TrainConfig, "eval": EvalConfig, "iterate": IterateConfig}
TOP_KEYS = {"name", "seeds", "templates", "max_prompts", "teachers", "prices", "synthesis", "verify", "students",
            *SECTIONS}
NO_KEYS_FIX = ("export the key in an environment variable and set `api_key_env: NAME`, or store it in a "
               "Prefect Secret block and set `api_key_secret: BLOCK`")


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
        raw = yaml.safe_load(read_utf8(path)) or {}
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
    for section in (raw.get("teacher"), *(dict(raw.get("teachers") or {}).values())):
        if isinstance(section, dict) and "api_key" in section:
            raise InputError(path, _line_of(path, "api_key"), "a recipe must not contain an API key (recipes are "
                             "stored in the warehouse and shown in logs)", NO_KEYS_FIX)
    sections = {name: _section(path, name, _train_class(path, raw.get(name)) if name == "train" else cls,
                               raw.get(name) or {}) for name, cls in SECTIONS.items()}
    sections["snapshot"] = dataclasses.replace(sections["snapshot"], general=_resolve_general(
        base, sections["snapshot"].general))
    sections["train"] = dataclasses.replace(sections["train"], output_root=str(base / sections["train"].output_root))
    routes = _routes(path, raw, sections["teacher"])
    sections["train"] = with_teacher_context(sections["train"], sections["teacher"])
    students = tuple(with_teacher_context(dataclasses.replace(cfg, output_root=str(base / cfg.output_root)),
                                          sections["teacher"]) for cfg in _students(path, raw))
    try:
        prices = parse_prices(raw.get("prices"))
    except ValueError as exc:
        raise InputError(path, _line_of(path, "prices"), f"malformed price table: {exc}",
                         "write `prices: {MODEL: {input_per_mtok: 0.5, output_per_mtok: 1.5}}` in dollars per "
                         "million tokens") from None
    for cfg in [sections["teacher"], *routes.values()]:
        if cfg.backend not in BACKENDS:
            raise InputError(path, _line_of(path, "backend"), f"unknown teacher backend {cfg.backend!r}",
                             f"use one of: {', '.join(sorted(BACKENDS))}")
        if sections["budget"].max_cost_usd is not None and cfg.model not in prices:
            raise InputError(path, _line_of(path, "max_cost_usd"), f"budget.max_cost_usd needs a price for model "
                             f"{cfg.model!r}", f"add `{cfg.model}: {{input_per_mtok: ..., output_per_mtok: ...}}` "
                             "under `prices:`")
    synthesis = None
    if raw.get("synthesis") is not None:
        synthesis = _section(path, "synthesis", SynthesisConfig, raw["synthesis"])
        synthesis = dataclasses.replace(synthesis, knowledge=str(_resolve(base, synthesis.knowledge)),
                                        template=str(_resolve(base, synthesis.template)))
        try:
            TeacherConfig(**{**dataclasses.asdict(sections["teacher"]), **synthesis.writer})
        except (TypeError, ValueError) as exc:
            raise InputError(path, _line_of(path, "writer"), f"invalid `synthesis.writer`: {exc}",
                             "give only teacher fields, with valid values") from None
    return Recipe(
        name=str(raw.get("name", path.stem)), source=str(path),
        seeds=[p if str(p).startswith(PUBLIC) else str(_resolve(base, p)) for p in _as_list(raw["seeds"])],
        templates={d: str(_resolve(base, p)) for d, p in dict(raw["templates"]).items()},
        max_prompts=max_prompts, routes=routes, prices=prices, synthesis=synthesis, raw=raw, students=students,
        verify=_verify_options(path, raw.get("verify")), **sections,
    )


def _routes(path: Path, raw: dict, default: TeacherConfig) -> dict[str, TeacherConfig]:
    """`teachers: {domain: {overrides}}`: each domain's teacher is the default teacher with those fields changed."""
    routes = raw.get("teachers") or {}
    if not isinstance(routes, dict):
        raise InputError(path, _line_of(path, "teachers"), "`teachers:` must map a domain to teacher settings",
                         "e.g. `teachers: {code: {model: deepseek-reasoner}}`")
    domains = set(dict(raw["templates"]))
    out = {}
    for domain, overrides in routes.items():
        if domain not in domains:
            raise InputError(path, _line_of(path, str(domain)), f"`teachers.{domain}` routes a domain with no "
                             "template", f"route one of: {', '.join(sorted(domains))}")
        if not isinstance(overrides, dict):
            raise InputError(path, _line_of(path, str(domain)), f"`teachers.{domain}` must be a mapping",
                             "give the teacher fields that differ from `teacher:`")
        merged = {**dataclasses.asdict(default), **overrides}
        out[str(domain)] = _section(path, f"teachers.{domain}", TeacherConfig, merged)
    return out


def check_credentials(recipe: Recipe) -> None:
    """Every API teacher can find its key: raise InputError before the first request if not."""
    from generators.teachers.openai_api import MissingApiKey, resolve_api_key

    for cfg in recipe.teachers:
        if cfg.backend != "openai":
            continue
        try:
            resolve_api_key(cfg)
        except MissingApiKey as exc:
            where = "api_key_secret" if cfg.api_key_secret else "api_key_env"
            raise InputError(recipe.source, _line_of(Path(recipe.source), where) or _line_of(Path(recipe.source),
                             "teacher"), f"no API key for teacher {cfg.model!r}: {exc}",
                             f"{NO_KEYS_FIX}; for an endpoint without auth set `api_key_env: null`") from None


def load_inputs(recipe: Recipe, evaluates: bool = False) -> Inputs:
    """Load and render everything; any bad seed or template raises before a write or a teacher call.

    `evaluates`: the caller runs the eval stage, so `eval.split` must name a split the seeds provide."""
    templates = {domain: load_template(domain, p) for domain, p in recipe.templates.items()}
    seeds = [s for source in recipe.seeds for s in (load_public(source) if source.startswith(PUBLIC)
                                                    else load_seeds(source))]
    _check_unique_ids(seeds)
    splits = {s.split for s in seeds}
    if evaluates and recipe.eval.split not in splits:
        raise InputError(recipe.source, _line_of(Path(recipe.source), "split"), f"eval.split {recipe.eval.split!r} "
                         f"has no seeds (the recipe's seeds have splits: {', '.join(sorted(splits))})",
                         "name one of those splits, or add its seeds (e.g. `public:humaneval`) under `seeds:`")
    prompts = render_prompts(seeds, templates)
    knowledge_prompts = []
    if recipe.synthesis:
        items = load_knowledge(recipe.synthesis.knowledge)
        unknown = [k for k in items if k.domain not in templates]
        if unknown:
            raise InputError(unknown[0].source_file, unknown[0].source_line, f"unknown domain {unknown[0].domain!r}",
                             f"use one of {sorted(templates)}: new problems are rendered with that domain's template")
        writer_template = load_template("synthesis", recipe.synthesis.template)
        knowledge_prompts = render_prompts([knowledge_seed(k) for k in items],
                                           {d: writer_template for d in templates})
    return Inputs(seeds=seeds, templates=templates, prompts=prompts, knowledge_prompts=knowledge_prompts)


def knowledge_seed(item: KnowledgeItem) -> Seed:
    """A knowledge item stored as a seed row (split `knowledge`), so writer prompts have the usual lineage."""
    return Seed(seed_id=item.item_id, domain=item.domain, question=item.topic, reference=None, split="knowledge",
                topic=item.topic, source_file=item.source_file, source_line=item.source_line, payload=item.payload)


def _check_unique_ids(seeds: list[Seed]) -> None:
    first: dict[str, Seed] = {}
    for s in seeds:
        if s.seed_id in first:
            other = first[s.seed_id]
            raise InputError(s.source_file, s.source_line,
                             f"seed id {s.seed_id!r} also used at {other.source_file}:{other.source_line}",
                             "seed ids must be unique across all seed files")
        first[s.seed_id] = s


def _verify_options(path: Path, values: Any) -> dict[str, dict[str, Any]]:
    """`verify: {domain: {option: value}}`, each domain's options tried on its verifier now (e.g.
    `math: {decimal_approx: true}`; verifiers/math/verifier.py lists the math options and their defaults)."""
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise InputError(path, _line_of(path, "verify"), "`verify:` must map a domain to its verifier's options",
                         "e.g. `verify: {math: {decimal_approx: true}}`")
    for domain, options in values.items():
        try:
            verifier_for(str(domain), **options)
        except (TypeError, ValueError) as exc:
            key = next((k for k in options if re.search(rf"\b{re.escape(k)}\b", str(exc))), None)
            raise InputError(path, _line_of(path, key or str(domain)), f"invalid `verify.{domain}`: {exc}",
                             "see the verifier's docstring for its options (verifiers/math/verifier.py)") from None
    return {str(d): dict(o) for d, o in values.items()}


def _train_class(path: Path, values: Any) -> type[TrainConfig]:
    """The config class of the training method `train.method` names (default sft)."""
    method = values.get("method", "sft") if isinstance(values, dict) else "sft"
    if method not in METHODS:
        raise InputError(path, _line_of(path, "method"), f"unknown training method {method!r}",
                         f"use one of: {', '.join(sorted(METHODS))}")
    return METHODS[method].config


def _students(path: Path, raw: dict) -> list[TrainConfig]:
    """`students: [{method: kd, ...}, ...]`: each the `train:` section with these changes (its method's own
    fields defaulted unless given), all trained on the same snapshot and evaluated side by side."""
    entries = raw.get("students") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(path, _line_of(path, "students"), "`students:` must be a list of mappings",
                         "write `students: [{method: kd}, {method: sft, epochs: 2}]`")
    base = dict(raw.get("train") or {})
    out = []
    for entry in entries:
        method = entry.get("method", base.get("method", "sft"))
        cls = _train_class(path, {"method": method})
        shared = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in base.items() if k in shared} | dict(entry) | {"method": method}
        out.append(_section(path, "students", cls, values))
    return out


def with_teacher_context(cfg: TrainConfig, teacher: TeacherConfig) -> TrainConfig:
    """A logit method's `teacher_few_shot: null` resolved: the recipe teacher's few-shot turns when that teacher
    runs the method's teacher model locally (the turns are part of what it distils), else none."""
    if not isinstance(cfg, LocalTeacherConfig) or cfg.teacher_few_shot is not None:
        return cfg
    same = teacher.backend == "transformers" and teacher.model == cfg.teacher_model
    return dataclasses.replace(cfg, teacher_few_shot=teacher.few_shot if same else ())


def student_configs(recipe: Recipe, method: str | None = None) -> list[TrainConfig]:
    """What `train` trains: the recipe's `train:` (as `method` when given) and, without a method, its `students:`."""
    if method:
        return [with_teacher_context(with_method(recipe.train, method), recipe.teacher)]
    return [recipe.train, *recipe.students]


def _section(path: Path, name: str, cls: type, values: Any):
    if not isinstance(values, dict):
        raise InputError(path, _line_of(path, name), f"`{name}:` must be a mapping", "see recipes/quickstart.yaml")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(path, _line_of(path, key, name), f"unknown key `{name}.{key}`",
                         f"`{name}` takes: {', '.join(sorted(known))}")
    _check_types(path, name, cls, values)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        mentioned = [k for k in values if re.search(rf"\b{re.escape(k)}\b", str(exc))]
        line = (_line_of(path, mentioned[0], name) if mentioned else None) or _line_of(path, name)
        raise InputError(path, line, f"invalid `{name}`: {exc}", "check the values' types and ranges") from None


_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
          list: "a list (or one string)", tuple: "a list", dict: "a mapping"}


def _check_types(path: Path, name: str, cls: type, values: dict) -> None:
    """Each field must hold its type (int, float, str, bool, a list or a mapping, each optionally null), named at
    its own line. Inside lists and mappings the config checks and normalises (a single string for a list of
    strings, a YAML date for an ISO date string, `{user, assistant}` few-shot items)."""
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        args = typing.get_args(hints[key]) if typing.get_origin(hints[key]) in (typing.Union, types.UnionType) \
            else (hints[key],)
        kinds = [typing.get_origin(a) or a for a in args if a is not type(None)]
        if not all(k in _KINDS for k in kinds) or _fits(value, kinds, type(None) in args):
            continue
        expected = " or ".join(_KINDS[k] for k in kinds) + (" or null" if type(None) in args else "")
        raise InputError(path, _line_of(path, key, name), f"`{name}.{key}` must be {expected}, got {value!r}",
                         f"write `{key}:` as {expected}")


def _fits(value: Any, kinds: list[type], optional: bool) -> bool:
    if value is None:
        return optional
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int):
        return int in kinds or float in kinds
    if isinstance(value, float):
        return float in kinds
    if isinstance(value, (list, tuple)):  # a tuple: a merged default (`teachers:` routes start from `teacher:`)
        return list in kinds or tuple in kinds
    if isinstance(value, dict):
        return dict in kinds
    return (str in kinds or list in kinds) and isinstance(value, (str, date, datetime))


def _line_of(path: Path, key: str, section: str | None = None) -> int | None:
    """The line of `key:`, looked for first inside the top-level `section:` (so `train.temperature` is not
    reported at `teacher.temperature`), else anywhere."""
    lines = read_utf8(path).splitlines()
    if section:
        top = section.split(".")[0]
        start = next((i for i, t in enumerate(lines) if t.startswith(f"{top}:")), None)
        if start is not None:
            end = next((i for i in range(start + 1, len(lines)) if lines[i][:1].strip() and lines[i][0] != "#"),
                       len(lines))
            inside = [i for i in range(start, end) if _has_key(lines[i], key)]
            if inside:
                return inside[0] + 1
    return next((i for i, t in enumerate(lines, start=1) if _has_key(t, key)), None)


def _has_key(line: str, key: str) -> bool:
    """`key:` opens the line (block style) or follows `{` or `,` (flow style: `teacher: {n: 2}`)."""
    return re.search(rf"(^\s*|[{{,]\s*)(['\"]?){re.escape(key)}\2\s*:", line.split(" #")[0]) is not None


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _resolve_general(base: Path, source: str | None) -> str | None:
    """`snapshot.general`: a local file, found like seeds and templates (`_resolve`), or a hub dataset id, left
    as it is."""
    if source is None or Path(source).is_absolute():
        return source
    local = _resolve(base, source)
    return str(local) if local.exists() or Path(source).suffix.lower() in (".jsonl", ".json", ".parquet") else source


def _resolve(base: Path, p: str) -> Path:
    path = Path(p)
    return path if path.is_absolute() or path.exists() else base / path


# --- `distill recipe explain` -------------------------------------------------------------------------------

TOP_HELP = {  # field: (type, help)
    "name": ("str", "the recipe's name (default: the file name); names its lease and its default snapshot names"),
    "seeds": ("list[str]", "seed files (JSONL, relative to the recipe's project folder) or public:humaneval / "
                           "public:gsm8k"),
    "templates": ("dict", "domain -> Jinja2 template file (relative to the recipe's project folder)"),
    "max_prompts": ("int | None", "train prompts sent to the teacher (null = all)"),
    "teachers": ("dict", "domain -> the teacher fields that differ from `teacher:` for that domain"),
    "prices": ("dict", "model -> {input_per_mtok, output_per_mtok}: dollars per million tokens"),
    "verify": ("dict", "domain -> its verifier's options, e.g. math: {decimal_approx: true}"),
    "synthesis": ("section", "write new problems from knowledge items (the `synthesis` section below); null = off"),
    "students": ("list[dict]", "more students trained on the same snapshot and evaluated side by side: each the "
                               "`train:` section with these changes, e.g. [{method: kd}]"),
}
REQUIRED = ("seeds", "templates", "teacher")
PROJECT_FOLDER = ("a relative path in a recipe (seeds, templates, snapshot.general, synthesis files) is taken from "
                  "the current directory when the file is there, else from the recipe's project folder (the folder "
                  "above recipes/ for a recipe there, else the recipe file's folder); train.output_root always "
                  "from the project folder")


def explain(recipe: Recipe | None = None) -> list[dict]:
    """Every recipe field, by section: its type, default and help, and with `recipe` the value it holds there.

    `train` lists the fields every method shares, then `train (method: M)` the fields method M adds."""
    rows = [{"section": "(top)", "field": k, "type": t, "default": "(required)" if k in REQUIRED else "",
             "help": h, **({"value": _show(_top_value(recipe, k))} if recipe else {})}
            for k, (t, h) in TOP_HELP.items()]
    classes = [(name, cls) for name, cls in SECTIONS.items()] + [("synthesis", SynthesisConfig)]
    for name, cls in classes:
        rows += _field_rows(name, cls, getattr(recipe, name, None) if recipe else None, recipe is not None)
        if name == "train":
            shared = {f.name for f in dataclasses.fields(TrainConfig)}
            for method, m in sorted(METHODS.items()):
                own = recipe.train if recipe and recipe.train.method == method else None
                rows += _field_rows(f"train (method: {method})", m.config, own, recipe is not None, skip=shared)
    return rows


def _field_rows(section: str, cls: type, cfg: Any, with_value: bool, skip: set[str] = frozenset()) -> list[dict]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        row = {"section": section, "field": f.name, "type": _type_name(hints[f.name]),
               "default": "(required)" if default is dataclasses.MISSING else _show(default),
               "help": f.metadata.get("help", "(no help yet)")}
        if with_value:
            row["value"] = _show(getattr(cfg, f.name)) if cfg is not None else ""
        out.append(row)
    return out


def _top_value(recipe: Recipe, key: str) -> Any:
    return {"name": recipe.name, "seeds": recipe.seeds, "templates": recipe.templates,
            "max_prompts": recipe.max_prompts, "teachers": recipe.raw.get("teachers"),
            "prices": recipe.raw.get("prices"), "verify": recipe.verify,
            "synthesis": "on" if recipe.synthesis else None,
            "students": [s.method for s in recipe.students]}[key]


def _type_name(hint: Any) -> str:
    return re.sub(r"\b(typing|builtins)\.|<class '([^']+)'>", lambda m: m.group(2) or "", str(hint))


def _show(value: Any) -> str:
    """A value as a recipe would write it: null, true/false, numbers and strings bare, the rest as JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, default=str)
