"""Math answer verifier: read the final answer from a model response, decide
whether it equals a reference answer, and never hang while doing it.

False positives train the student on wrong answers and false negatives throw
good samples away, so every rule is deliberately explicit. Each module
documents its own part of the policy:

* `extract` -- extraction order: boxed, final-answer phrase, bold, bare answer,
  last number (recorded as such), else no answer;
* `normalize` -- normalisation policy (delimiters, currency, percent as
  written, degrees, units, LaTeX variants, thousands separators);
* `equivalence` -- the equivalence ladder, cheapest first: guard, string,
  structure (`structure`: sets, tuples, intervals, equations), rational,
  symbolic, numeric (`scalar`, `numeric`);
* `guards` -- the bounds that keep absurd answers away from sympy;
* `latex` -- the LaTeX-to-sympy converter and the reading conventions
  (``e``, ``i``, ``\\log``, ``2^10``, ``1/2x``, "2 3", ...);
* `check` -- one check and the verdict reasons (``correct``, ``wrong``,
  ``no_answer``, ``unparseable``, ``timeout``);
* `pool` -- the timeout design: every check runs in a killable spawned worker.
"""

from __future__ import annotations

from verifiers.math.equivalence import answers_equivalent
from verifiers.math.extract import extract_answer
from verifiers.math.latex import latex_to_sympy_str
from verifiers.math.normalize import normalize_answer
from verifiers.math.pool import get_pool as _get_pool  # noqa: F401 (the tests inspect the shared pool)
from verifiers.math.verifier import MathVerifier

__all__ = [
    "MathVerifier",
    "answers_equivalent",
    "extract_answer",
    "normalize_answer",
    "latex_to_sympy_str",
]
