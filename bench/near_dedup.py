"""Benchmark: MinHash near-dedup (curation/near_dedup.py) on synthetic documents.

    .venv/bin/python bench/near_dedup.py [--docs 100000] [--workers 2]

Documents: 50-2000 words (uniform) drawn from a seeded 30k-word vocabulary with
Zipf(1.0) frequencies; `--dup-frac` (10%) of them are planted near-duplicates
of an earlier document, each aimed at a Jaccard level drawn uniformly from
0.5-0.99 by substituting words and, for half of them, moving a block of the
text (a reorder). The true word-shingle Jaccard of every planted pair and of
every reported pair is computed exactly from the shingle sets.

Measured: signatures/s on one core (ours, and the datasketch alternatives on
a subsample), the process-pool speed-up, LSH insert+query docs/s (`dedup` on
precomputed signatures: query, verify, insert the kept), recall on planted
pairs with true Jaccard >= 0.85, precision of the reported pairs (a reported
pair is correct when its true Jaccard >= 0.8, also when other
final-check thresholds are scored with `--thresholds`), the
flush of all kept signatures to DuckDB, the file bytes per stored signature
(BLOB vs UINTEGER[] vs UBIGINT[]), `NearDupIndex.load` time for all of them,
and the memory per document of a loaded index (tracemalloc: signature matrix
+ MinHashLSH).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from datasketch import MinHash  # noqa: E402

from curation.near_dedup import (  # noqa: E402
    NearDupConfig,
    NearDupIndex,
    normalise,
    parallel_signatures,
    shingle_hashes,
    shingles,
    signatures,
)
from warehouse.db import Warehouse  # noqa: E402


def make_corpus(n: int, dup_frac: float, seed: int) -> tuple[list[str], list[tuple[int, int, float]]]:
    """n documents; returns (texts, planted) with planted = (original, duplicate, target Jaccard)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(sorted({"".join(rng.choice(letters, rng.integers(2, 11))) for _ in range(32000)}))[:30000]
    rng.shuffle(vocab)
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    n_dup = int(n * dup_frac)
    n_orig = n - n_dup
    words: list[np.ndarray] = [rng.choice(len(vocab), int(k), p=p) for k in rng.integers(50, 2001, n_orig)]
    planted = []
    for j in range(n_dup):
        o = int(rng.integers(0, n_orig))
        target = float(rng.uniform(0.5, 0.99))
        w = words[o].copy()
        s = max(len(w) - 4, 1)
        reorder = rng.random() < 0.5 and len(w) > 40
        budget = s * (1 - target) / (1 + target) - (12 if reorder else 0)   # shingles to change, ~5 per edit
        k = max(1, int(round(budget / 5)))
        pos = rng.choice(len(w), min(k, len(w)), replace=False)
        w[pos] = rng.choice(len(vocab), len(pos), p=p)
        if reorder:
            a, b = sorted(rng.choice(len(w), 2, replace=False))
            block, rest = w[a:b], np.concatenate([w[:a], w[b:]])
            at = int(rng.integers(0, len(rest) + 1))
            w = np.concatenate([rest[:at], block, rest[at:]])
        words.append(w)
        planted.append((o, n_orig + j, target))
    texts = [" ".join(vocab[w]) for w in words]
    return texts, planted


def exact_jaccard(texts: list[str], a: int, b: int, cfg: NearDupConfig, memo: dict) -> float:
    """The exact Jaccard of the two documents' shingle sets (memoised per pair, not per document: memory)."""
    key = (min(a, b), max(a, b))
    if key not in memo:
        sa, sb = shingles(texts[a], cfg), shingles(texts[b], cfg)
        memo[key] = len(sa & sb) / len(sa | sb)
    return memo[key]


def quality(texts, planted, dropped, cfg, memo) -> tuple[float, int, int, float, int, int, list[float]]:
    true_pairs = [(o, d, exact_jaccard(texts, o, d, cfg, memo)) for o, d, _ in planted]
    should = [d for o, d, j in true_pairs if j >= 0.85]
    found = sum(f"d{d:07d}" in dropped for d in should)
    rep_j = [exact_jaccard(texts, int(k[1:]), int(m.kept_id[1:]), cfg, memo) for k, m in dropped.items()]
    good = sum(j >= TRUTH for j in rep_j)
    return found / max(len(should), 1), found, len(should), good / max(len(rep_j), 1), good, len(rep_j), rep_j


TRUTH = 0.8   # a reported pair is correct when its exact Jaccard >= this, whatever the final-check threshold


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--dup-frac", type=float, default=0.1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--thresholds", type=float, nargs="*", default=[0.75, 0.82, 0.85],
                    help="other final-check thresholds to score on the same corpus")
    args = ap.parse_args()
    cfg = NearDupConfig()
    rows: list[tuple[str, str]] = []

    t0 = time.perf_counter()
    texts, planted = make_corpus(args.docs, args.dup_frac, args.seed)
    n = len(texts)
    mean_words = sum(len(t.split()) for t in texts[:2000]) / min(n, 2000)
    mean_bytes = sum(len(t) for t in texts) / n
    print(f"corpus: {n} docs, {len(planted)} planted, mean {mean_bytes / 1024:.1f} KB "
          f"(~{mean_words:.0f} words in the first 2000) in {time.perf_counter() - t0:.1f}s", flush=True)
    rows.append(("documents", f"{n:,} ({len(planted):,} planted near-dups), mean {mean_bytes / 1024:.1f} KB"))

    # -- signature variants on a subsample (one core) --
    sub = texts[:min(n, 1000)]
    toks = [normalise(t).encode().split() for t in sub]
    t0 = time.perf_counter()
    for tk in toks[:300]:
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        m.update_batch([b" ".join(tk[i:i + 5]) for i in range(max(len(tk) - 4, 1))])
    rows.append(("sigs/s: datasketch update_batch, SHA-1 of shingle strings (tokenised)", rate(300, time.perf_counter() - t0)))
    t0 = time.perf_counter()
    MinHash.bulk([[b" ".join(tk[i:i + 5]) for i in range(max(len(tk) - 4, 1))] for tk in toks[:300]],
                 num_perm=cfg.num_perm, seed=cfg.seed)
    rows.append(("sigs/s: datasketch MinHash.bulk, SHA-1 (tokenised)", rate(300, time.perf_counter() - t0)))
    t0 = time.perf_counter()
    for t in sub:
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=int)
        m.update_batch(shingle_hashes(normalise(t).encode().split(), cfg).tolist())
    rows.append(("sigs/s: update_batch(hashfunc=int) on our shingle hashes (from text)", rate(len(sub), time.perf_counter() - t0)))
    print("\n".join(f"  {k}: {v}" for k, v in rows[1:]), flush=True)

    # -- ours, all documents, one core --
    t0 = time.perf_counter()
    sigs = signatures(texts, cfg)
    dt_sig = time.perf_counter() - t0
    rows.append(("sigs/s: ours (signatures(), one core, from text)", f"{rate(n, dt_sig)} ({dt_sig:.1f}s)"))
    print(f"  signatures: {rate(n, dt_sig)}/s", flush=True)
    if args.workers > 1:
        part = texts[:min(n, 20000)]
        t0 = time.perf_counter()
        parallel_signatures(part, cfg, workers=args.workers)
        rows.append((f"sigs/s: parallel_signatures, {args.workers} processes ({len(part):,} docs)",
                     rate(len(part), time.perf_counter() - t0)))

    # -- LSH dedup on precomputed signatures --
    items = [(f"d{i:07d}", sigs[i], (0 if i < n - len(planted) else 1, i)) for i in range(n)]
    gc.collect()
    index = NearDupIndex("bench", cfg)
    t0 = time.perf_counter()
    kept, dropped = index.dedup(items)
    dt_lsh = time.perf_counter() - t0
    rows.append(("LSH insert+query docs/s (dedup on signatures)", f"{rate(n, dt_lsh)} ({dt_lsh:.1f}s)"))
    rows.append(("kept / dropped", f"{len(kept):,} / {len(dropped):,}"))
    print(f"  dedup: {rate(n, dt_lsh)}/s, dropped {len(dropped)}", flush=True)

    # -- quality, exact Jaccard --
    memo: dict = {}
    t0 = time.perf_counter()
    recall, found, n_should, precision, good, n_rep, rep_j = quality(texts, planted, dropped, cfg, memo)
    true_pairs = [(o, d, memo[(o, d)]) for o, d, _ in planted]
    hist = np.histogram([j for *_, j in true_pairs], bins=[0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.01])[0]
    band_recall = []
    for lo, hi in [(0.7, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 1.01)]:
        sel = [(o, d) for o, d, j in true_pairs if lo <= j < hi]
        band_recall.append(f"[{lo},{min(hi, 1.0)}): {sum(f'd{d:07d}' in dropped for o, d in sel)}/{len(sel)}")
    rows.append(("planted pairs by true Jaccard (<.5,.5,.6,.7,.8,.85,.9,.95)", " ".join(map(str, hist))))
    rows.append(("recall, planted pairs with true J >= 0.85", f"{recall:.4f} ({found}/{n_should})"))
    rows.append((f"found per true-J band (threshold {cfg.threshold})", "; ".join(band_recall)))
    rows.append((f"precision, reported pairs with true J >= {TRUTH}",
                 f"{precision:.4f} ({good}/{n_rep}); "
                 f">= 0.75: {sum(j >= 0.75 for j in rep_j)}; min true J {min(rep_j, default=0):.3f}"))
    print(f"  quality in {time.perf_counter() - t0:.1f}s", flush=True)
    for t in args.thresholds:
        alt = dataclasses.replace(cfg, threshold=t)
        _, alt_dropped = NearDupIndex("alt", alt).dedup(items)
        r, f, ns, pr, g, nr, _ = quality(texts, planted, alt_dropped, alt, memo)
        rows.append((f"  with threshold {t}: recall (J >= 0.85) / precision (J >= {TRUTH})",
                     f"{r:.4f} ({f}/{ns}) / {pr:.4f} ({g}/{nr})"))
    memo.clear()

    # -- persistence: flush, storage, load --
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(Path(tmp) / "w.duckdb")
        wh.init()
        with wh.connect() as con:
            con.execute("CHECKPOINT")
        size0 = os.path.getsize(wh.path)
        t0 = time.perf_counter()
        written = index.flush(wh)
        dt_flush = time.perf_counter() - t0
        with wh.connect() as con:
            con.execute("CHECKPOINT")
        per_row = (os.path.getsize(wh.path) - size0) / written
        rows.append(("flush to DuckDB (one Arrow batch)", f"{written:,} rows in {dt_flush:.1f}s ({rate(written, dt_flush)} rows/s)"))
        rows.append(("DuckDB file bytes per stored signature (whole row, BLOB)", f"{per_row:,.0f}"))
        mat = index._sigs[:len(index)]
        for name, sql_type in [("UINTEGER[]", "UINTEGER[]"), ("UBIGINT[]", "UBIGINT[]"), ("BLOB", "BLOB")]:
            path = Path(tmp) / f"{name[:4]}.duckdb"
            import duckdb
            import pyarrow as pa
            con = duckdb.connect(str(path))
            if sql_type == "BLOB":
                arr = pa.array([r.tobytes() for r in mat], type=pa.binary())
            else:
                width = pa.uint32() if sql_type == "UINTEGER[]" else pa.uint64()
                arr = pa.FixedSizeListArray.from_arrays(pa.array(mat.reshape(-1).astype(
                    np.uint32 if width == pa.uint32() else np.uint64), type=width), cfg.num_perm)
            batch = pa.table({"sig": arr})
            con.execute(f"CREATE TABLE t (sig {sql_type})")
            con.register("b", batch)
            con.execute("INSERT INTO t SELECT sig FROM b")
            con.execute("CHECKPOINT")
            con.close()
            rows.append((f"  signature column alone as {name}: bytes/doc", f"{os.path.getsize(path) / len(mat):,.0f}"))
        del index, items
        gc.collect()
        t0 = time.perf_counter()
        loaded = NearDupIndex.load(wh, "bench", cfg)
        dt_load = time.perf_counter() - t0
        rows.append((f"NearDupIndex.load of {len(loaded):,} persisted signatures", f"{dt_load:.2f}s"))
        del loaded
        gc.collect()
        tracemalloc.start()
        loaded = NearDupIndex.load(wh, "bench", cfg)
        current, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append(("memory per kept doc in a loaded index (matrix + MinHashLSH)", f"{current / len(loaded):,.0f} bytes "
                     f"({current / 2**20:,.0f} MiB for {len(loaded):,})"))

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    print(f"\nMinHash near-dedup, {cfg}")
    print(f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; load avg {os.getloadavg()[0]:.1f}")
    print("S-curve P(candidate): " + ", ".join(f"{s}: {cfg.candidate_probability(s):.3f}"
                                                 for s in (0.5, 0.7, 0.8, 0.85, 0.9)))
    print("\n| measure | value |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
