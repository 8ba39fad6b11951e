"""Verifiers by domain: an explicit registry, built on first use."""

from __future__ import annotations

from collections.abc import Callable

from verifiers.base import Verdict, Verifier


def _math() -> Verifier:
    from verifiers.math import MathVerifier

    return MathVerifier()


def _code() -> Verifier:
    from verifiers.code import CodeVerifier

    return CodeVerifier()


REGISTRY: dict[str, Callable[[], Verifier]] = {"math": _math, "code": _code}


def verifier_for(domain: str) -> Verifier:
    try:
        return REGISTRY[domain]()
    except KeyError:
        raise ValueError(f"no verifier for domain {domain!r}; known: {sorted(REGISTRY)}") from None


__all__ = ["REGISTRY", "Verdict", "Verifier", "verifier_for"]
