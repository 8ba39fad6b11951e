"""Benchmark: the project's math verifier against Hugging Face math-verify.

One run, one table (set, verifier, accuracy, false positives, false negatives,
checks/s) over three sets:

* ``labelled`` -- every case in tests/verifiers/math_cases.jsonl (ours + traps);
* ``suite`` -- math-verify's own test suite as data (bench/data/math_verify_suite.jsonl,
  270 cases); ``suite default`` scores the 263 whose label math-verify gives with its
  default call, ``suite options`` the 7 whose label needs the non-default options
  their test passes (``options_decide``), both run with default options;
* ``generated`` -- distinct generated (prediction, reference) pairs for throughput.

Ours runs through `MathVerifier.verify_batch` on a warm worker pool (pool start-up
timed separately); math-verify runs single-process. Its watchdog/alarm timeouts
below apply to math-verify only.

    pip install -e '.[bench]'        # math-verify==0.9.0
    .venv/bin/python bench/math_verifier.py [--pairs 1200] [--workers N]

math-verify is called as its README documents: gold = parse(reference) (retried
as ``$reference$`` when a bare reference parses to nothing), pred =
parse(prediction), verify(gold, pred). Without delimiters its parser reads bare
LaTeX or expressions loosely (``1+1/e`` -> 1, ``(197/4, 5)`` -> 5, ``\sqrt{8}`` ->
nothing), so a second column, "math-verify $ref$", always parses the reference
as ``$reference$`` (predictions stay as written in both). Its own SIGALRM
timeouts are on (parsing_timeout, timeout_seconds; the count of those that fired
is printed) and a watchdog thread interrupts any single call that still runs
past --mv-timeout seconds, which then counts as "not equal".
"""

from __future__ import annotations

import _thread
import argparse
import json
import logging
import os
import platform
import sys
import threading
import time
from fractions import Fraction
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CASES = ROOT / "tests/verifiers/math_cases.jsonl"
SEEDS = ROOT / "examples/math/seeds.jsonl"
SUITE = ROOT / "bench/data/math_verify_suite.jsonl"


# -- math-verify with a per-call guard -----------------------------------------

class _Watchdog:
    """Interrupts the main thread if one call runs past `seconds` (math-verify's
    own timeouts use signal.alarm, which a nested alarm would cancel)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.fired = False
        self.timer: threading.Timer | None = None

    def _fire(self) -> None:
        self.fired = True
        _thread.interrupt_main()

    def __enter__(self):
        self.fired = False
        self.timer = threading.Timer(self.seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        return False


class _CountTimeouts(logging.Handler):
    """Counts math-verify's own "Timeout during ..." warnings (its verdict is then False)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "Timeout during" in record.getMessage():
            self.count += 1


MV_TIMEOUTS = _CountTimeouts()


def make_math_verify(call_timeout_s: float, inner_timeout_s: int, always_wrap_gold: bool = False):
    from math_verify import parse, verify

    mv_logger = logging.getLogger("math_verify")
    if MV_TIMEOUTS not in mv_logger.handlers:
        mv_logger.addHandler(MV_TIMEOUTS)
        mv_logger.propagate = False  # count its timeout warnings instead of printing each one
    dog = _Watchdog(call_timeout_s)

    def gold_of(reference: str):
        if always_wrap_gold and "$" not in reference and "\\boxed" not in reference:
            return parse(f"${reference}$", parsing_timeout=inner_timeout_s)
        gold = parse(reference, parsing_timeout=inner_timeout_s)
        if not gold:
            gold = parse(f"${reference}$", parsing_timeout=inner_timeout_s)
        return gold

    def mv_check(prediction: str, reference: str) -> tuple[bool, str]:
        try:
            with dog:
                gold = gold_of(reference)
                pred = parse(prediction, parsing_timeout=inner_timeout_s)
                ok = bool(verify(gold, pred, timeout_seconds=inner_timeout_s))
            return ok, ("correct" if ok else ("no_answer" if not pred else "wrong"))
        except KeyboardInterrupt:
            if dog.fired:
                return False, "timeout"
            raise
        except Exception as e:  # noqa: BLE001 - a crash is a "not equal" verdict
            return False, f"error:{type(e).__name__}"

    return mv_check


# -- scoring ---------------------------------------------------------------------

def score(expected: list[bool], got: list[bool]) -> dict:
    n = len(expected)
    fp = sum(1 for e, g in zip(expected, got) if g and not e)
    fn = sum(1 for e, g in zip(expected, got) if e and not g)
    return {"n": n, "correct": n - fp - fn, "acc": (n - fp - fn) / n, "fp": fp, "fn": fn}


# -- unique pairs for throughput -------------------------------------------------

def _latex(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    sign = "-" if v < 0 else ""
    return f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"


def _plain(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _decimal(v: Fraction) -> str | None:
    d = v.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d != 1:
        return None
    s = f"{float(v):.10f}".rstrip("0").rstrip(".")
    return s


def unique_pairs(n: int) -> list[tuple[str, str, bool]]:
    """n distinct (prediction, reference, expected) triples built from the seed
    answers: each answer is shifted by a different amount per variant, written
    in one of several formats, and about a quarter are made wrong."""
    answers = [Fraction(json.loads(line)["answer"]) for line in SEEDS.read_text().splitlines() if line.strip()]
    out: list[tuple[str, str, bool]] = []
    seen: set[tuple[str, str]] = set()
    k = 0
    while len(out) < n:
        for i, a in enumerate(answers):
            if len(out) >= n:
                break
            v = a * (k % 3 + 1) + Fraction(7 * k + 1, 1 if k % 2 else 4)
            fmt = (i + k) % 8
            wrong = (i * 7 + k) % 4 == 0
            shown = v + (Fraction(1, 2) if v.denominator != 1 else 1) if wrong else v
            if fmt == 0:
                pred, ref = f"So the total is \\boxed{{{_latex(shown)}}}.", _plain(v)
            elif fmt == 1:
                dec = _decimal(shown)
                pred, ref = f"The answer is {dec if dec else _plain(shown)}", _latex(v)
            elif fmt == 2:
                pred, ref = f"Adding the parts gives **{_plain(shown)}**", _plain(v)
            elif fmt == 3:
                pred, ref = f"Solving, we get $x = {_latex(shown)}$.\nFinal answer: {_plain(shown)}", _plain(v)
            elif fmt == 4:
                pred, ref = f"\\boxed{{{_latex(shown)}\\sqrt{{2}}}}", f"\\sqrt{{2}} \\cdot {_latex(v)}"
            elif fmt == 5:
                pred, ref = f"\\boxed{{\\left({_latex(shown)}, {k + i}\\right)}}", f"({_plain(v)}, {k + i})"
            elif fmt == 6:
                pred, ref = f"The result is \\boxed{{{_latex(shown)}\\pi}}", f"{_plain(v)}\\pi" if v.denominator == 1 else f"\\frac{{{v.numerator}\\pi}}{{{v.denominator}}}"
            else:
                pred, ref = f"Therefore \\boxed{{{_latex(shown)}}} dollars", _latex(v)
            if (pred, ref) in seen:
                continue
            seen.add((pred, ref))
            out.append((pred, ref, not wrong))
        k += 1
    return out


# -- main ------------------------------------------------------------------------

def _ver(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_sets() -> dict[str, list[tuple[str, str, bool]]]:
    """(prediction, reference, expected) per set; see the module docstring."""
    rows = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    suite = [json.loads(line) for line in SUITE.read_text().splitlines()[1:] if line.strip()]
    return {
        "labelled": [(r["prediction"], r["reference"], bool(r["expected"])) for r in rows],
        "suite default": [(c["prediction"], c["gold"], c["expected"]) for c in suite if not c["options_decide"]],
        "suite options": [(c["prediction"], c["gold"], c["expected"]) for c in suite if c["options_decide"]],
    }


def warm_up(ours, workers: int, timeout: float) -> float:
    """Small batches until every worker has announced it is ready; returns the seconds it took."""
    from verifiers.math.pool import get_pool

    t0 = time.perf_counter()
    rounds = 0
    while True:
        rounds += 1
        ours.verify_batch([(f"\\boxed{{{rounds * 100 + j}}}", str(rounds * 100 + j)) for j in range(2 * workers)],
                          timeout_s=timeout, workers=workers)
        pool = get_pool()
        if (len(pool.all) >= workers and all(wk.ready for wk in pool.all)) or time.perf_counter() - t0 > 120:
            return time.perf_counter() - t0


def workers_cpu_s() -> float | None:
    """CPU seconds used so far by our pool's worker processes (Linux /proc; None elsewhere)."""
    from verifiers.math.pool import get_pool

    try:
        total = 0
        for pid in get_pool().pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


CPU_SECONDS: dict[str, float] = {}  # set -> our workers' CPU seconds on it


def run_ours(ours, items, workers: int, timeout: float, set_name: str = "") -> tuple[list[bool], float]:
    cpu0 = workers_cpu_s()
    t0 = time.perf_counter()
    vs = ours.verify_batch([(p, r) for p, r, _ in items], timeout_s=timeout, workers=workers)
    secs = time.perf_counter() - t0
    cpu1 = workers_cpu_s()
    if cpu0 is not None and cpu1 is not None:
        CPU_SECONDS[set_name] = cpu1 - cpu0
    return [v.passed for v in vs], secs


def run_mv(fn, items) -> tuple[list[bool], float]:
    t0 = time.perf_counter()
    got = [fn(p, r)[0] for p, r, _ in items]
    return got, time.perf_counter() - t0


def main() -> None:
    from verifiers.math import MathVerifier
    from verifiers.math.pool import _default_workers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1200, help="distinct generated pairs (>= 1000)")
    parser.add_argument("--workers", type=int, default=None, help="our verifier's worker processes (default: its own)")
    parser.add_argument("--timeout", type=float, default=5.0, help="our per-check timeout, seconds")
    parser.add_argument("--mv-timeout", type=float, default=10.0, help="watchdog per math-verify call, seconds")
    parser.add_argument("--mv-inner-timeout", type=int, default=5, help="math-verify's own parse/verify timeouts")
    args = parser.parse_args()

    workers = args.workers or _default_workers()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"cpu_count={os.cpu_count()}  platform={platform.platform()}  "
          f"processor={platform.processor() or platform.machine()}  python={platform.python_version()}")
    print(f"sympy={_ver('sympy')}  math-verify={_ver('math-verify')}  "
          f"latex2sympy2_extended={_ver('latex2sympy2_extended')}  antlr4={_ver('antlr4-python3-runtime')}")
    print(f"ours: verifiers.math v{MathVerifier.version}, workers={workers}, timeout={args.timeout}s, default options")

    sets = load_sets()
    gen = unique_pairs(max(1000, args.pairs))
    assert len({(p, r) for p, r, _ in gen}) == len(gen)
    sets["generated"] = gen

    ours = MathVerifier(timeout_s=args.timeout, workers=workers)
    startup = warm_up(ours, workers, args.timeout)
    mv_fns = {
        "math-verify": make_math_verify(args.mv_timeout, args.mv_inner_timeout),
        "math-verify $ref$": make_math_verify(args.mv_timeout, args.mv_inner_timeout, always_wrap_gold=True),
    }
    t0 = time.perf_counter()
    mv_fns["math-verify"]("\\boxed{2\\sqrt{2}}", "\\sqrt{8}")
    mv_startup = time.perf_counter() - t0
    print(f"start-up (excluded): ours {startup:.2f}s ({workers} workers), math-verify {mv_startup:.2f}s")

    table = []
    for set_name, items in sets.items():
        expected = [e for _, _, e in items]
        got, secs = run_ours(ours, items, workers, args.timeout, set_name)
        table.append((set_name, f"ours ({workers} workers)", score(expected, got), len(items) / secs))
        for name, fn in mv_fns.items():
            got, secs = run_mv(fn, items)
            table.append((set_name, f"{name} (1 process)", score(expected, got), len(items) / secs))

    print("\n| set | cases | verifier | accuracy | false positives | false negatives | checks/s |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for set_name, name, sc, rate in table:
        print(f"| {set_name} | {sc['n']} | {name} | {sc['acc']:.1%} ({sc['correct']}) | {sc['fp']} | {sc['fn']} "
              f"| {rate:,.0f} |")
    print(f"math-verify inner timeouts (verdict False): {MV_TIMEOUTS.count}")
    if CPU_SECONDS:
        # the machine may be shared: our workers' own CPU time gives the rate on idle cores
        print("ours, worker CPU seconds per set (rate if the workers had their cores to themselves): " + "; ".join(
            f"{name} {cpu:.2f}s ({len(sets[name]) / (cpu / workers):,.0f}/s)" for name, cpu in CPU_SECONDS.items() if cpu > 0))
    if load_before is not None:
        print(f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
              f"after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
