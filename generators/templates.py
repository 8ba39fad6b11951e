"""Jinja2 domain templates, versioned by content hash, and prompt rendering.

Rendering is pure (seed + template -> prompt text) and strict: a variable the
seed does not provide is an error found at validation time, before any
teacher call, naming the seed's file and line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jinja2

from generators.seeds import InputError, Seed, read_utf8
from warehouse.ids import stable_id

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


@dataclass(frozen=True)
class Template:
    name: str
    domain: str
    body: str
    source_file: str

    @property
    def version(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()[:12]

    @property
    def template_id(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, seed: Seed) -> str:
        try:
            return _ENV.from_string(self.body).render(**seed.variables()).strip()
        except jinja2.UndefinedError as exc:
            raise InputError(
                seed.source_file, seed.source_line,
                f"template {self.source_file} needs a variable the seed lacks ({exc.message})",
                f"add the field to seed {seed.seed_id!r} or remove it from the template",
            ) from None


def load_template(domain: str, path: str | Path) -> Template:
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, f"template for domain {domain!r} not found",
                         "check the `templates:` paths in the recipe")
    body = read_utf8(path)
    try:
        _ENV.parse(body)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError(path, exc.lineno, f"template syntax error: {exc.message}", "fix the Jinja2 syntax") from None
    return Template(name=path.stem, domain=domain, body=body, source_file=str(path))


@dataclass(frozen=True)
class Prompt:
    prompt_id: str
    seed: Seed
    template: Template
    text: str

    def to_row(self) -> dict:
        s = self.seed
        return {"prompt_id": self.prompt_id, "seed_id": s.seed_id, "template_id": self.template.template_id,
                "domain": s.domain, "split": s.split, "text": self.text, "reference": s.reference}


def render_prompts(seeds: list[Seed], templates: dict[str, Template]) -> list[Prompt]:
    """Render every seed with its domain's template; unknown domains and missing variables raise."""
    prompts = []
    for seed in seeds:
        template = templates.get(seed.domain)
        if template is None:
            raise InputError(seed.source_file, seed.source_line, f"unknown domain {seed.domain!r}",
                             f"use one of {sorted(templates)} or add a template for it under `templates:`")
        text = template.render(seed)
        pid = stable_id(template.template_id, seed.seed_id, seed.variables())
        prompts.append(Prompt(prompt_id=pid, seed=seed, template=template, text=text))
    return prompts
