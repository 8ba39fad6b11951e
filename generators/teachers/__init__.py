"""Teacher backends, by registry name. Heavy imports happen when a backend is built."""

from __future__ import annotations

from collections.abc import Callable

from generators.teachers.base import Completion, Request, Teacher, TeacherConfig, generation_id


def _transformers(config: TeacherConfig) -> Teacher:
    from generators.teachers.hf import TransformersTeacher

    return TransformersTeacher(config)


BACKENDS: dict[str, Callable[[TeacherConfig], Teacher]] = {"transformers": _transformers}


def build_teacher(config: TeacherConfig) -> Teacher:
    try:
        factory = BACKENDS[config.backend]
    except KeyError:
        raise ValueError(f"unknown teacher backend {config.backend!r}; known: {sorted(BACKENDS)}") from None
    return factory(config)


__all__ = ["BACKENDS", "Completion", "Request", "Teacher", "TeacherConfig", "build_teacher", "generation_id"]
