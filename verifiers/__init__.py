"""Verifiers by domain: an explicit registry, built on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from verifiers.base import Verdict, Verifier


def _lazy(module: str, name: str) -> Callable[..., Verifier]:
    """Build `module.name(**options)`, importing the module only then (sympy and the sandbox load on first use)."""
    return lambda **options: getattr(importlib.import_module(module), name)(**options)


# To add a verifier: a class with `verify`/`verify_batch` returning Verdicts (base.py) in a new module, one line below.
REGISTRY: dict[str, Callable[..., Verifier]] = {
    "math": _lazy("verifiers.math", "MathVerifier"),
    "code": _lazy("verifiers.code", "CodeVerifier"),
}


def verifier_for(domain: str, **options) -> Verifier:
    """The domain's verifier, built with the recipe's `verify: {domain: {options}}` (e.g. decimal_approx)."""
    if domain not in REGISTRY:
        raise ValueError(f"no verifier for domain {domain!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[domain](**options)


__all__ = ["REGISTRY", "Verdict", "Verifier", "verifier_for"]
