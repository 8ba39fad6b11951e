"""Teacher backends, by registry name. Heavy imports happen when a backend is built."""

from __future__ import annotations

from collections.abc import Callable

from generators.teachers.base import Completion, Failure, Request, Teacher, TeacherConfig, generation_id
from generators.teachers.budget import Budget, BudgetConfig, Price


def _transformers(config: TeacherConfig) -> Teacher:
    from generators.teachers.hf import TransformersTeacher

    return TransformersTeacher(config)


def _openai(config: TeacherConfig) -> Teacher:
    from generators.teachers.openai_api import OpenAITeacher

    return OpenAITeacher(config)


def _vllm(config: TeacherConfig) -> Teacher:
    from generators.teachers.vllm_teacher import VLLMTeacher

    return VLLMTeacher(config)


BACKENDS: dict[str, Callable[[TeacherConfig], Teacher]] = {
    "transformers": _transformers, "openai": _openai, "vllm": _vllm}


def build_teacher(config: TeacherConfig) -> Teacher:
    try:
        factory = BACKENDS[config.backend]
    except KeyError:
        raise ValueError(f"unknown teacher backend {config.backend!r}; known: {sorted(BACKENDS)}") from None
    return factory(config)


__all__ = ["BACKENDS", "Budget", "BudgetConfig", "Completion", "Failure", "Price", "Request", "Teacher", "TeacherConfig",
           "build_teacher", "generation_id"]
