"""The public verifier: every check runs in a killable worker process (`pool`)."""

from __future__ import annotations

from verifiers.base import Verdict
from verifiers.math.check import NAME, VERSION
from verifiers.math.pool import run_batch


class MathVerifier:
    """Judge math answers; every check runs in a killable worker process."""

    name = NAME
    version = VERSION

    def __init__(self, timeout_s: float = 5.0, workers: int | None = None):
        self.timeout_s = timeout_s
        self.workers = workers

    def verify(self, response: str, reference: str) -> Verdict:
        return self.verify_batch([(response, reference)], timeout_s=self.timeout_s, workers=1)[0]

    def verify_batch(
        self,
        pairs: list[tuple[str, str]],
        timeout_s: float | None = None,
        workers: int | None = None,
    ) -> list[Verdict]:
        """Verdicts in input order; `timeout_s` and `workers` default to the verifier's own."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        pairs = [("" if r is None else str(r), "" if f is None else str(f)) for r, f in pairs]
        return run_batch(pairs, float(timeout_s), workers if workers is not None else self.workers)
