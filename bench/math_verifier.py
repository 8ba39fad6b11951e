"""Benchmark: the project's math verifier against Hugging Face math-verify.

Scores both on every labelled case in tests/verifiers/math_cases.jsonl
(accuracy, false positives, false negatives, the issue's named traps, the cases
where they disagree), then times both on distinct generated (prediction,
reference) pairs: ours through `MathVerifier.verify_batch` with a warm worker
pool (pool start-up timed separately), math-verify single-process.

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


# -- the named traps, found by matching their strings ------------------

def _unbox(s: str) -> str:
    s = s.strip()
    if s.startswith("\\boxed{") and s.endswith("}"):
        return s[len("\\boxed{"):-1].strip()
    return s


TRAPS = [
    ("1-1/e vs 1+1/e", lambda p, r: p.strip() == "1-1/e" and r.strip() == "1+1/e"),
    ("**73**", lambda p, r: p.strip() == "**73**"),
    ("0.5 vs \\frac{1}{2}", lambda p, r: {_unbox(p), _unbox(r)} == {"0.5", "\\frac{1}{2}"}),
    ("-0", lambda p, r: _unbox(p) == "-0"),
    ("2\\sqrt{2} vs \\sqrt{8}", lambda p, r: {_unbox(p), _unbox(r)} == {"2\\sqrt{2}", "\\sqrt{8}"}),
    ("x \\in [1, 2) vs [1,2]", lambda p, r: "x \\in [1, 2)" in p and r.replace(" ", "") == "[1,2]"),
    ("10% vs 0.1", lambda p, r: ("10\\%" in p or "10%" in p) and r.strip() == "0.1"),
]


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


def _short(s: str, width: int) -> str:
    s = s.replace("\n", "\\n")
    return s if len(s) <= width else s[: width - 1] + "…"


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


def main() -> None:
    from verifiers.math import MathVerifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1200, help="distinct pairs for the throughput run (>= 1000)")
    parser.add_argument("--workers", type=int, default=None, help="our verifier's worker processes (default: its own)")
    parser.add_argument("--timeout", type=float, default=5.0, help="our per-check timeout, seconds")
    parser.add_argument("--mv-timeout", type=float, default=10.0, help="watchdog per math-verify call, seconds")
    parser.add_argument("--mv-inner-timeout", type=int, default=5, help="math-verify's own parse/verify timeouts")
    args = parser.parse_args()

    cpus = os.cpu_count()
    from verifiers.math.pool import _default_workers, get_pool

    workers = args.workers or _default_workers()
    print("== machine ==")
    print(f"cpu_count={cpus}  platform={platform.platform()}  processor={platform.processor() or platform.machine()}")
    print(f"python={platform.python_version()}  sympy={_ver('sympy')}  math-verify={_ver('math-verify')}  "
          f"latex2sympy2_extended={_ver('latex2sympy2_extended')}  antlr4-python3-runtime={_ver('antlr4-python3-runtime')}")
    print(f"ours: verifiers.math {MathVerifier.name} v{MathVerifier.version}, workers={workers}, timeout={args.timeout}s")

    rows = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    pairs = [(r["prediction"], r["reference"]) for r in rows]
    expected = [bool(r["expected"]) for r in rows]

    # --- our verifier: pool start-up, then the labelled cases -------------------
    ours = MathVerifier(timeout_s=args.timeout, workers=workers)
    t0 = time.perf_counter()
    warm_rounds = 0
    while True:  # small batches until every worker has announced it is ready
        warm_rounds += 1
        ours.verify_batch([(f"\\boxed{{{warm_rounds * 100 + j}}}", str(warm_rounds * 100 + j)) for j in range(2 * workers)],
                          timeout_s=args.timeout, workers=workers)
        pool = get_pool()
        if (len(pool.all) >= workers and all(wk.ready for wk in pool.all)) or time.perf_counter() - t0 > 120:
            break
    startup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    our_v = ours.verify_batch(pairs, timeout_s=args.timeout, workers=workers)
    our_cases_s = time.perf_counter() - t0

    # --- math-verify (two ways of reading the reference): import + first call, then the cases
    t0 = time.perf_counter()
    mv_fns = {
        "math-verify": make_math_verify(args.mv_timeout, args.mv_inner_timeout),
        "math-verify $ref$": make_math_verify(args.mv_timeout, args.mv_inner_timeout, always_wrap_gold=True),
    }
    mv_fns["math-verify"]("\\boxed{2\\sqrt{2}}", "\\sqrt{8}")
    mv_startup_s = time.perf_counter() - t0
    names = ["ours", *mv_fns]
    ok: dict[str, list[bool]] = {"ours": [v.passed for v in our_v]}
    why: dict[str, list[str]] = {"ours": [v.reason for v in our_v]}
    secs: dict[str, float] = {"ours": our_cases_s}
    inner: dict[str, int] = {"ours": 0}
    for name, fn in mv_fns.items():
        before = MV_TIMEOUTS.count
        t0 = time.perf_counter()
        res = [fn(p, r) for p, r in pairs]
        secs[name] = time.perf_counter() - t0
        inner[name] = MV_TIMEOUTS.count - before
        ok[name], why[name] = [o for o, _ in res], [w for _, w in res]
    sc = {n: score(expected, ok[n]) for n in names}

    w = 19
    print(f"\n== labelled cases ({len(rows)}, {CASES.relative_to(ROOT)}) ==")
    print(f"{'':30}" + "".join(f"{n:>{w}}" for n in names))
    print(f"{'accuracy':30}" + "".join(f"{sc[n]['acc']:>{w}.1%}" for n in names))
    print(f"{'correct':30}" + "".join(f"{sc[n]['correct']:>{w}}" for n in names))
    print(f"{'false positives':30}" + "".join(f"{sc[n]['fp']:>{w}}" for n in names))
    print(f"{'false negatives':30}" + "".join(f"{sc[n]['fn']:>{w}}" for n in names))
    print(f"{'timeouts (ours / watchdog)':30}" + "".join(f"{sum(x == 'timeout' for x in why[n]):>{w}}" for n in names))
    print(f"{'math-verify inner timeouts':30}" + "".join(f"{inner[n]:>{w}}" for n in names))
    print(f"{'time for all cases':30}" + "".join(f"{secs[n]:>{w - 1}.2f}s" for n in names))

    print("\n== traps (the issue's named cases; 'ok' = verdict matches the label) ==")
    print(f"{'trap':24}{'prediction':23}{'reference':14}{'expect':>7}" + "".join(f"{n:>{w}}" for n in names))
    right = {n: 0 for n in names}
    n_trap = 0
    for label, match in TRAPS:
        hits = [i for i, r in enumerate(rows) if match(r["prediction"], r["reference"])]
        if not hits:
            print(f"{label:24}(no case matched)")
        for i in hits:
            n_trap += 1
            marks = []
            for n in names:
                good = ok[n][i] == expected[i]
                right[n] += good
                marks.append("ok" if good else "WRONG")
            print(f"{label:24}{_short(rows[i]['prediction'], 22):23}{_short(rows[i]['reference'], 13):14}"
                  f"{str(expected[i]):>7}" + "".join(f"{m:>{w}}" for m in marks))
    print(f"{'trap cases right':68}" + "".join(f"{str(right[n]) + '/' + str(n_trap):>{w}}" for n in names))

    for other in mv_fns:
        dis = [i for i in range(len(rows)) if ok["ours"][i] != ok[other][i]]
        ours_right = sum(ok["ours"][i] == expected[i] for i in dis)
        print(f"\n== ours vs {other}: {len(dis)} disagreements (ours right on {ours_right}, "
              f"{other} right on {len(dis) - ours_right}); first 20 ==")
        print(f"{'line':>4} {'prediction':34}{'reference':22}{'expect':>7}{'ours':>17}{other:>20}")
        for i in dis[:20]:
            print(f"{i + 1:>4} {_short(rows[i]['prediction'], 33):34}{_short(rows[i]['reference'], 21):22}"
                  f"{str(expected[i]):>7}{str(ok['ours'][i]) + ' ' + why['ours'][i]:>17}"
                  f"{str(ok[other][i]) + ' ' + why[other][i]:>20}")

    # --- throughput on distinct pairs ---------------------------------------------
    gen = unique_pairs(max(1000, args.pairs))
    gpairs = [(p, r) for p, r, _ in gen]
    gexp = [e for _, _, e in gen]
    assert len(set(gpairs)) == len(gpairs)
    t0 = time.perf_counter()
    g_ours = ours.verify_batch(gpairs, timeout_s=args.timeout, workers=workers)
    gsecs = {"ours": time.perf_counter() - t0}
    gok = {"ours": [v.passed for v in g_ours]}
    gwhy = {"ours": [v.reason for v in g_ours]}
    ginner = {"ours": 0}
    for name, fn in mv_fns.items():
        before = MV_TIMEOUTS.count
        t0 = time.perf_counter()
        res = [fn(p, r) for p, r in gpairs]
        gsecs[name] = time.perf_counter() - t0
        ginner[name] = MV_TIMEOUTS.count - before
        gok[name], gwhy[name] = [o for o, _ in res], [x for _, x in res]
    gsc = {n: score(gexp, gok[n]) for n in names}
    procs = {n: (workers if n == "ours" else 1) for n in names}
    start = {n: (startup_s if n == "ours" else mv_startup_s) for n in names}

    n_g = len(gpairs)
    print(f"\n== throughput: {n_g} distinct generated pairs (warm, start-up excluded) ==")
    print(f"{'':30}" + "".join(f"{n:>{w}}" for n in names))
    print(f"{'processes':30}" + "".join(f"{procs[n]:>{w}}" for n in names))
    print(f"{'start-up (excluded below)':30}" + "".join(f"{start[n]:>{w - 1}.2f}s" for n in names))
    print(f"{'wall time':30}" + "".join(f"{gsecs[n]:>{w - 1}.2f}s" for n in names))
    print(f"{'checks/s':30}" + "".join(f"{n_g / gsecs[n]:>{w}.1f}" for n in names))
    print(f"{'checks/s per process':30}" + "".join(f"{n_g / gsecs[n] / procs[n]:>{w}.1f}" for n in names))
    print(f"{'accuracy vs generated labels':30}" + "".join(f"{gsc[n]['acc']:>{w}.1%}" for n in names))
    print(f"{'FP / FN vs generated labels':30}" + "".join(f"{str(gsc[n]['fp']) + ' / ' + str(gsc[n]['fn']):>{w}}" for n in names))
    print(f"{'timeouts (ours / watchdog)':30}" + "".join(f"{sum(x == 'timeout' for x in gwhy[n]):>{w}}" for n in names))
    print(f"{'math-verify inner timeouts':30}" + "".join(f"{ginner[n]:>{w}}" for n in names))
    gmiss = [i for i in range(n_g) if any(gok[n][i] != gexp[i] for n in names)]
    if gmiss:
        print(f"generated pairs any verifier got wrong: {len(gmiss)}; first 10 (True = passed):")
        for i in gmiss[:10]:
            p, r = gpairs[i]
            print(f"  {i:>5} expect={gexp[i]!s:5} " + " ".join(f"{n}={gok[n][i]!s:5}" for n in names)
                  + f"  {_short(p, 46)!r} vs {_short(r, 28)!r}")


if __name__ == "__main__":
    main()
