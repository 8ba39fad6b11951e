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
* `library` -- the math-verify path (Hugging Face ``math-verify``, when installed):
  a second extraction and parsing layer, asked only where our ladder did not
  settle a check, with our decimal policy applied to what it parsed;
* `check` -- one check, which path decides (``details["match_method"]`` is
  ``math_verify`` when the library did) and the verdict reasons (``correct``,
  ``wrong``, ``no_answer``, ``unparseable``, ``timeout``);
* `pool` -- the timeout design: every check runs in a killable spawned worker.

Options of `MathVerifier` (policy, for a recipe to set):

* ``decimal_approx: bool = False`` -- False: a decimal equals only the value it
  writes exactly (0.5 = 1/2; 0.3333 != 1/3; 1.41421356237 != sqrt 2). True: a
  decimal that agrees with the value to math-verify's 6 significant decimals is
  accepted (0.0833333333333333 = 1/12).
* ``decimal_comma: bool = True`` -- True: a comma between digits that cannot
  separate thousands and is outside brackets (``1000,99``, ``0,111``, ``2,74``) may
  be read as a decimal comma. False: such text is judged by our ladder alone
  (``1,22`` is then the list 1, 22).
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
