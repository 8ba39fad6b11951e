"""One verdict type shared by every verifier.

Expected failures (a wrong answer, no answer, a timeout) are values, not
exceptions: a verifier returns a `Verdict` for every input it is given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str  # machine-readable: correct, wrong, no_answer, unparseable, timeout, ...
    extracted: str | None  # the answer the verifier read from the response
    verifier: str  # registry name, e.g. "math"
    version: str  # bump when behaviour changes so old verdicts can be told apart
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


class Verifier(Protocol):
    name: str
    version: str

    def verify(self, response: str, reference: str) -> Verdict:
        """Judge one response against one reference answer."""
        ...

    def verify_batch(self, pairs: list[tuple[str, str]]) -> list[Verdict]:
        """Judge (response, reference) pairs; verdicts come back in input order."""
        ...
