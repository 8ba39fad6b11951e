"""The public verifier: every check runs in a killable worker process (`pool`).

Options (policy questions a recipe decides; see `library` for what each does):

* ``decimal_approx`` (default False): a decimal equals only the value it writes
  exactly (0.3333 != 1/3, 1.41421356237 != sqrt 2). True accepts a decimal that agrees
  to math-verify's 6 significant decimals.
* ``decimal_comma`` (default True): a comma between digits that cannot separate
  thousands (``1000,99``, ``0,111``, ``2,74``) may be read as a decimal comma by the
  math-verify path. False keeps such text to our ladder, where ``1,22`` is a list.
"""

from __future__ import annotations

from dataclasses import replace

from verifiers.base import Verdict
from verifiers.math.check import NAME, VERSION
from verifiers.math.pool import run_batch


class MathVerifier:
    """Judge math answers; every check runs in a killable worker process."""

    name = NAME
    version = VERSION

    def __init__(
        self,
        timeout_s: float = 5.0,
        workers: int | None = None,
        decimal_approx: bool = False,
        decimal_comma: bool = True,
    ):
        for name, value in (("decimal_approx", decimal_approx), ("decimal_comma", decimal_comma)):
            if not isinstance(value, bool):
                raise ValueError(f"math verifier option {name} must be true or false, got {value!r}")
        self.timeout_s = timeout_s
        self.workers = workers
        self.decimal_approx, self.decimal_comma = decimal_approx, decimal_comma
        # verdicts under non-default options are told apart (and a change of options re-verifies)
        changed = [f"{k}={v}" for k, v, default in (("decimal_approx", decimal_approx, False),
                                                     ("decimal_comma", decimal_comma, True)) if v != default]
        self.version = "+".join([VERSION, *changed])

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
        options = (self.decimal_approx, self.decimal_comma)
        verdicts = run_batch(pairs, float(timeout_s), workers if workers is not None else self.workers, options)
        if self.version == VERSION:
            return verdicts
        return [replace(v, version=self.version) for v in verdicts]
