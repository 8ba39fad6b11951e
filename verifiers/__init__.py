"""Verifiers by domain: an explicit registry, built on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from verifiers.base import Verdict, Verifier


def _lazy(module: str, name: str) -> Callable[[], Verifier]:
    """Build `module.name()`, importing the module only then (sympy and the sandbox load on first use)."""
    return lambda: getattr(importlib.import_module(module), name)()


# To add a verifier: a class with `verify`/`verify_batch` returning Verdicts (base.py) in a new module, one line below.
REGISTRY: dict[str, Callable[[], Verifier]] = {
    "math": _lazy("verifiers.math", "MathVerifier"),
    "code": _lazy("verifiers.code", "CodeVerifier"),
}


def verifier_for(domain: str) -> Verifier:
    try:
        return REGISTRY[domain]()
    except KeyError:
        raise ValueError(f"no verifier for domain {domain!r}; known: {sorted(REGISTRY)}") from None


__all__ = ["REGISTRY", "Verdict", "Verifier", "verifier_for"]
