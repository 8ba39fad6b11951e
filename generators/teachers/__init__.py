"""Teacher backends, by registry name. Heavy imports happen when a backend is built."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from generators.teachers.base import Completion, Failure, Request, Teacher, TeacherConfig, generation_id
from generators.teachers.budget import Budget, BudgetConfig, Price


def _lazy(module: str, name: str) -> Callable[[TeacherConfig], Teacher]:
    """Build `module.name(config)`, importing the module only then (torch, vllm and openai load on first use)."""
    return lambda config: getattr(importlib.import_module(module), name)(config)


# To add a backend: a Teacher subclass in a new file here (base.py says what it implements) and one line below.
BACKENDS: dict[str, Callable[[TeacherConfig], Teacher]] = {
    "transformers": _lazy("generators.teachers.hf", "TransformersTeacher"),
    "openai": _lazy("generators.teachers.openai_api", "OpenAITeacher"),
    "vllm": _lazy("generators.teachers.vllm_teacher", "VLLMTeacher"),
}


def build_teacher(config: TeacherConfig) -> Teacher:
    try:
        factory = BACKENDS[config.backend]
    except KeyError:
        raise ValueError(f"unknown teacher backend {config.backend!r}; known: {sorted(BACKENDS)}") from None
    return factory(config)


__all__ = ["BACKENDS", "Budget", "BudgetConfig", "Completion", "Failure", "Price", "Request", "Teacher", "TeacherConfig",
           "build_teacher", "generation_id"]
