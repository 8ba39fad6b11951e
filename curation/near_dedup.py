"""MinHash near-duplicate detection whose signatures persist in the warehouse.

Each scheduled curation run dedups its new items against everything kept
before, in any earlier run, without recomputing a single old signature: kept
items' signatures live in `minhash_signatures` (migration m008; reads and writes in warehouse/minhash.py), one row per
(config_id, scope, item_id), and `NearDupIndex.load` rebuilds the in-memory
LSH from them.

    index = NearDupIndex.load(wh, scope="math/responses", config=NearDupConfig())
    kept, dropped = index.dedup([(item_id, text, priority), ...])   # priority: smaller first
    index.flush(wh)                                                 # one Arrow batch of new kept items

Text -> set of shingles
-----------------------
`tokens()` lower-cases the text and keeps three kinds of token, which also
collapses whitespace and strips punctuation:

* numbers, with their inner separators kept (``3.14``, ``1,000`` stay whole),
* runs of letters (any script),
* the math operators ``+ - * / = < > ^ %`` (as their own tokens, because for
  math "12 + 7" and "12 - 7" are different problems; prose punctuation, brackets,
  quotes, backslashes and underscores are dropped).

Shingles are word n-grams of `shingle` tokens (default 5, the common choice for
document dedup: one substituted word changes 5 shingles, so a 500-word response
with 5 scattered edits keeps Jaccard ~0.90). A text with fewer than
`char_below` tokens (default 10) has too few word n-grams for a meaningful
Jaccard, so it is shingled into character n-grams of `char_shingle` (default 5)
of its normalised form instead. Two texts on different sides of that boundary
never match (their shingles are of different kinds); such texts are short, and
the exact-hash dedup in curation still catches their exact copies.

Numbers (`numbers_must_match`, default True): for math, "What is 12 + 7" and
"What is 13 + 7" are different problems even when every other word is equal,
and a long worked solution that differs in one intermediate number is a
different computation. With the flag on, a candidate is only a duplicate when
the sorted multiset of number tokens of both texts is identical (a 64-bit hash
of it is stored next to the signature), so reordering ("7 + 12") still matches
and any changed, added or dropped number does not. Turn it off for general
text, where numbers are incidental.

Signatures
----------
datasketch MinHash with the ``affine32`` scheme (datasketch >= 2.0: a
MurmurHash3 finaliser pre-mix, then ``a*h + b mod 2^32`` per permutation, hash
values stored as uint32) and a fixed `seed`. Shingle hashes are computed
vectorised: each token is hashed with CRC-32 (stable across processes and
machines, unlike Python's `hash`) and a shingle hash is a 64-bit polynomial of
its token hashes folded to 32 bits. The permutation step is datasketch's own
(``MinHash(hashfunc=int).update_batch(shingle_hashes)`` gives bit-identical
hash values; a test asserts it), done here directly in numpy on all of a text's
shingles at once, which avoids update_batch's per-element Python list.
Measured on a 2-core AMD EPYC, load average ~3.3 from other jobs
(bench/near_dedup.py, 100k documents of 50-2000 words, mean 7.1 KB), from text,
one core: SHA-1 `update_batch` of shingle strings 340 docs/s, `MinHash.bulk`
370 (it loops update_batch), `update_batch(hashfunc=int)` on our shingle hashes
900, this path 1,844 (2,137 with `parallel_signatures` on 2 busy cores).
Normalisation uses str.translate/replace because the equivalent regex alone
cost ~650 us per document. A signature is stored as a BLOB of
`num_perm` little-endian uint32 (512 bytes at 128 permutations).

LSH parameters: the S-curve
---------------------------
With `bands` b and `rows` r (b*r == num_perm), two texts of Jaccard s become
LSH candidates with probability

    P(candidate | s) = 1 - (1 - s^r)^b

datasketch's `MinHashLSH(threshold=0.8, num_perm=128)` picks (b, r) by
minimising the integrated false-positive + false-negative area and gets b=9,
r=13: P(0.8) = 0.41, which is why the default finds only ~40% of pairs at 0.8.
We pass `params=(bands, rows)` instead, chosen so that P(0.85) >= 0.99:

    s      b=16,r=8 (default)   b=9,r=13 (threshold=0.8)   b=32,r=4
    0.50   0.061                0.001                       0.873
    0.70   0.614                0.084                       1.000
    0.80   0.944                0.410                       1.000
    0.85   0.994                0.734                       1.000
    0.90   1.000                0.937                       1.000
    0.95   1.000                0.998                       1.000

b=16, r=8 is the largest r (fewest spurious candidates) with P(0.85) >= 0.99
at 128 permutations (r=9 allows only b=14: P(0.85)=0.976).

Every LSH candidate is then confirmed with the Jaccard estimated from the two
signatures (the fraction of equal hash values, `MinHash.jaccard`) >=
`threshold`, which keeps precision high. The estimate's standard deviation at
128 permutations is sqrt(s(1-s)/128) ~ 0.032 near s=0.85, so the threshold
trades recall at 0.85 against leaks from 0.7-0.8. Benchmark, 10k planted pairs
(recall: true Jaccard >= 0.85; precision: reported pairs with true Jaccard >= 0.8):

    threshold   recall   precision
    0.78        0.999    0.853
    0.80        0.992    0.919
    0.82        0.983    0.954     <- default
    0.84        0.944    0.985


Parallelism: `signatures()` is a plain module-level function of picklable
arguments, so callers can map it over a `ProcessPoolExecutor`;
`NearDupIndex.dedup(..., workers=N)` does that for large batches. The LSH part
is sequential by nature (each kept item changes what later items see).
"""

from __future__ import annotations

import hashlib
import string
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from warehouse.db import Warehouse
from warehouse.ids import now, stable_id
from warehouse.minhash import load_signatures, save_signatures

SCHEME = "affine32"
# Bump when tokens() or the shingle hashing changes: it is part of config_id, so
# signatures computed by different code are never compared.
SHINGLING_VERSION = 1

_OPS = "+-*/=<>^%"
_PUNCT = string.punctuation + "\u201c\u201d\u2018\u2019\u00ab\u00bb\u2026\u2013\u2014\u00b7\u2022\u00bf\u00a1"
_TABLE = {ord(c): " " for c in _PUNCT + string.whitespace if c not in _OPS + ".,"}
_DIGITS = bytes(c if chr(c) in string.digits + ".," else ord(" ") for c in range(256))  # numbers only
_MASK32 = np.uint64(0xFFFFFFFF)
_P_WORD = np.uint64(0x9E3779B97F4A7C15)   # odd 64-bit multipliers of the shingle polynomial
_P_CHAR = np.uint64(0xC2B2AE3D27D4EB4F)
_SALT_CHAR = np.uint64(0x165667B19E3779F9)
_CHUNK = 4096                             # shingles per numpy block (bounds the n x num_perm temporary)


@dataclass(frozen=True)
class NearDupConfig:
    """Every parameter that changes a signature or a decision; `config_id` hashes them all."""

    shingle: int = 5                # word n-gram size
    char_shingle: int = 5           # char n-gram size for short texts
    char_below: int = 10            # texts with fewer tokens than this use char n-grams
    num_perm: int = 128
    bands: int = 16
    rows: int = 8
    threshold: float = 0.82         # estimated Jaccard a candidate needs to be a duplicate
    seed: int = 1
    numbers_must_match: bool = True

    def __post_init__(self) -> None:
        if self.bands * self.rows != self.num_perm:
            raise ValueError(f"bands * rows must equal num_perm: {self.bands} * {self.rows} != {self.num_perm}")
        if self.bands < 2:
            raise ValueError("MinHashLSH needs at least 2 bands")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.shingle < 1 or self.char_shingle < 1:
            raise ValueError("shingle sizes must be positive")

    @property
    def config_id(self) -> str:
        return stable_id("minhash", SCHEME, SHINGLING_VERSION, asdict(self))

    def candidate_probability(self, s: float) -> float:
        """P(two texts of Jaccard s share an LSH bucket) = 1 - (1 - s^rows)^bands."""
        return 1.0 - (1.0 - s ** self.rows) ** self.bands


class Signature(NamedTuple):
    hashvalues: np.ndarray      # num_perm uint32, datasketch affine32 MinHash hash values
    numbers: int                # signed 64-bit hash of the sorted number tokens (0 when not used)


@dataclass(frozen=True)
class Match:
    kept_id: str                # the kept item this one duplicates
    jaccard: float              # Jaccard estimated from the two signatures
    cluster_id: str             # = kept_id (a kept item is its own cluster)


# -- shingling and signatures ---------------------------------------------------

def normalise(text: str) -> str:
    """Lower-case; prose punctuation and whitespace -> one space; operators padded; . and , kept between characters.

    Implemented with str.translate / str.replace (C speed, ~15x faster than an equivalent regex)."""
    s = text.lower().translate(_TABLE)
    for op in _OPS:
        if op in s:
            s = s.replace(op, f" {op} ")
    if "." in s or "," in s:
        s = (s + " ").replace("..", " ").replace(". ", " ").replace(", ", " ").replace(" .", " ").replace(" ,", " ")
        s = s if s[:1] not in ".," else s[1:]
    return s


def tokens(text: str) -> list[str]:
    """Normalised tokens: words, numbers (3.14 and 1,000 kept whole), operators."""
    return normalise(text).split()


def numbers_hash(text: str | bytes) -> int:
    """Hash of the sorted multiset of the numbers in a (normalised) text: maximal runs of digits with
    inner . or , (``x2`` counts as 2). Reordering keeps it; any changed, added or dropped number changes it."""
    data = text if isinstance(text, bytes) else normalise(text).encode()
    nums = sorted(n for n in (t.strip(b".,") for t in data.translate(_DIGITS).split()) if n)
    return int.from_bytes(hashlib.blake2b(b"\x00".join(nums), digest_size=8).digest(), "little", signed=True)


def shingles(text: str, config: NearDupConfig) -> set:
    """The exact shingle set a signature estimates (word n-gram tuples, or char n-gram strings); for tests."""
    toks = tokens(text)
    if len(toks) >= config.char_below:
        n = min(config.shingle, len(toks))
        return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}
    data = " ".join(toks)
    n = min(config.char_shingle, len(data))
    return {data[i:i + n] for i in range(len(data) - n + 1)} if data else {""}


def _poly(h: np.ndarray, n: int, p: np.uint64) -> np.ndarray:
    """64-bit polynomial hash of every window of n consecutive values, folded to 32 bits."""
    m = len(h) - n + 1
    acc = h[:m].copy()
    for j in range(1, n):
        acc *= p
        acc += h[j:j + m]
    return (acc ^ (acc >> np.uint64(32))) & _MASK32


def shingle_hashes(toks: Sequence[bytes], config: NearDupConfig) -> np.ndarray:
    """32-bit hashes (as uint64) of the shingles of UTF-8 tokens: word n-grams, or char n-grams for short texts."""
    if len(toks) >= config.char_below:
        h = np.fromiter(map(zlib.crc32, toks), np.uint64, len(toks))
        return _poly(h, min(config.shingle, len(h)), _P_WORD)
    data = b" ".join(toks)
    if not data:
        return np.array([0], dtype=np.uint64)   # every empty text has the same single shingle
    h = np.frombuffer(data, dtype=np.uint8).astype(np.uint64) + _SALT_CHAR
    return _poly(h, min(config.char_shingle, len(h)), _P_CHAR)


class _Permutations:
    """datasketch's affine32 permutations for (num_perm, seed), applied to many shingle hashes at once."""

    _cache: dict[tuple[int, int], _Permutations] = {}

    def __init__(self, num_perm: int, seed: int):
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
        self.a = a.astype(np.uint32)[None, :]
        self.b = b.astype(np.uint32)[None, :]
        self.empty = np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)

    @classmethod
    def get(cls, num_perm: int, seed: int) -> _Permutations:
        key = (num_perm, seed)
        if key not in cls._cache:
            cls._cache[key] = cls(num_perm, seed)
        return cls._cache[key]

    def apply(self, hashes: np.ndarray) -> np.ndarray:
        hv = hashes.astype(np.uint32)
        # MurmurHash3 fmix32, datasketch's pre-mix for the affine schemes (uint32 arithmetic wraps)
        hv ^= hv >> np.uint32(16)
        hv *= np.uint32(0x85EBCA6B)
        hv ^= hv >> np.uint32(13)
        hv *= np.uint32(0xC2B2AE35)
        hv ^= hv >> np.uint32(16)
        out = self.empty
        for start in range(0, len(hv), _CHUNK):
            phv = hv[start:start + _CHUNK, None] * self.a
            phv += self.b
            out = np.minimum(out, phv.min(axis=0))
        return out


def signature(text: str, config: NearDupConfig) -> Signature:
    data = normalise(text).encode()
    perms = _Permutations.get(config.num_perm, config.seed)
    return Signature(perms.apply(shingle_hashes(data.split(), config)),
                     numbers_hash(data) if config.numbers_must_match else 0)


def signatures(texts: Sequence[str], config: NearDupConfig | None = None) -> list[Signature]:
    """Signatures of many texts; module-level and picklable, so it can run in a process pool."""
    config = config or NearDupConfig()
    return [signature(t, config) for t in texts]


def parallel_signatures(texts: Sequence[str], config: NearDupConfig, workers: int,
                        chunk: int = 2000) -> list[Signature]:
    """`signatures` over a process pool (worth it from a few thousand texts; ~2x on 2 cores)."""
    if workers <= 1 or len(texts) < 2 * chunk:
        return signatures(texts, config)
    parts = [texts[i:i + chunk] for i in range(0, len(texts), chunk)]
    with ProcessPoolExecutor(workers) as pool:
        return [s for part in pool.map(signatures, parts, [config] * len(parts)) for s in part]


def minhash(sig: Signature | np.ndarray, config: NearDupConfig) -> LeanMinHash:
    """A datasketch LeanMinHash of a signature (for `MinHash.jaccard` or any datasketch index)."""
    values = sig.hashvalues if isinstance(sig, Signature) else sig
    return LeanMinHash(seed=config.seed, hashvalues=values, scheme=SCHEME)


def s_curve(config: NearDupConfig, points: Iterable[float] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)) -> dict:
    return {s: round(config.candidate_probability(s), 4) for s in points}


# -- the index ----------------------------------------------------------------------

class _Sketch:
    """The part of a MinHash that MinHashLSH reads (len, hashvalues, scheme), without LeanMinHash's copy."""

    __slots__ = ("hashvalues", "scheme", "seed")

    def __init__(self, hashvalues: np.ndarray, seed: int):
        self.hashvalues = hashvalues
        self.scheme = SCHEME
        self.seed = seed

    def __len__(self) -> int:
        return len(self.hashvalues)


class NearDupIndex:
    """Kept items of one (scope, config): an in-memory MinHashLSH plus their signatures in one matrix."""

    def __init__(self, scope: str, config: NearDupConfig | None = None):
        self.scope = scope
        self.config = config or NearDupConfig()
        self.config_id = self.config.config_id
        self.lsh = MinHashLSH(num_perm=self.config.num_perm, params=(self.config.bands, self.config.rows))
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._sigs = np.empty((0, self.config.num_perm), dtype=np.uint32)
        self._nums = np.empty(0, dtype=np.int64)
        self._pending: list[dict] = []

    # -- persistence --
    @classmethod
    def load(cls, wh: Warehouse, scope: str, config: NearDupConfig | None = None) -> NearDupIndex:
        """The index of every signature stored for this scope and config; nothing is recomputed."""
        index = cls(scope, config)
        table = load_signatures(wh, scope, index.config_id)
        n = table.num_rows
        if n == 0:
            return index
        ids = table.column("item_id").to_pylist()
        sigs = np.frombuffer(b"".join(table.column("signature").to_pylist()), dtype="<u4")
        sigs = sigs.reshape(n, index.config.num_perm).astype(np.uint32, copy=False)
        nums = np.asarray(table.column("numbers_hash").fill_null(0).to_numpy(), dtype=np.int64)
        index._grow(n)
        index._sigs[:n] = sigs
        index._nums[:n] = nums
        insert = index.lsh.insert
        seed = index.config.seed
        for row, item_id in enumerate(ids):
            index._row[item_id] = row
            insert(item_id, _Sketch(index._sigs[row], seed), check_duplication=False)
        index._ids = ids
        return index

    def flush(self, wh: Warehouse, con: Any = None) -> int:
        """Write the signatures of items added since the last flush, in one batch; return rows written."""
        rows, self._pending = self._pending, []
        return save_signatures(wh, rows, con=con)

    # -- queries --
    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._row

    @property
    def pending(self) -> int:
        return len(self._pending)

    def signature(self, text: str) -> Signature:
        return signature(text, self.config)

    def check(self, item_id: str, text: str | Signature) -> Match | None:
        """The kept item this one near-duplicates (highest estimated Jaccard), or None.

        An item that is itself already kept is no duplicate (reruns are safe)."""
        if item_id in self._row:
            return None
        return self._match(self._as_signature(text))

    def add(self, item_id: str, text: str | Signature) -> bool:
        """Register a kept item (its signature is written at the next flush); False if it was already kept."""
        if item_id in self._row:
            return False
        sig = self._as_signature(text)
        row = len(self._ids)
        self._grow(row + 1)
        self._sigs[row] = sig.hashvalues
        self._nums[row] = sig.numbers
        self._ids.append(item_id)
        self._row[item_id] = row
        self.lsh.insert(item_id, _Sketch(self._sigs[row], self.config.seed), check_duplication=False)
        self._pending.append({"item_id": item_id, "scope": self.scope, "config_id": self.config_id,
                              "signature": np.ascontiguousarray(sig.hashvalues, dtype="<u4").tobytes(),
                              "numbers_hash": sig.numbers, "cluster_id": item_id, "created_at": now()})
        return True

    def dedup(self, items: Sequence[tuple[str, str | Signature, Any]], workers: int = 1
              ) -> tuple[list[str], dict[str, Match]]:
        """Keep the first item of each near-duplicate cluster, in priority order (smaller first, then id).

        Items dedup against the kept items already in the index and against each other. An item
        already kept (a rerun) stays kept. Returns the kept ids in processing order and
        {dropped_id: Match}."""
        ordered = sorted(items, key=lambda it: (it[2], it[0]))
        texts = [(i, t) for i, (item_id, t, _) in enumerate(ordered)
                 if isinstance(t, str) and item_id not in self._row]
        sigs: list[Signature | None] = [t if isinstance(t, Signature) else None for _, t, _ in ordered]
        for (i, _), sig in zip(texts, parallel_signatures([t for _, t in texts], self.config, workers)):
            sigs[i] = sig
        kept: list[str] = []
        dropped: dict[str, Match] = {}
        seen: set[str] = set()
        for (item_id, _, _), sig in zip(ordered, sigs):
            if item_id in seen:
                continue
            seen.add(item_id)
            if item_id in self._row:
                kept.append(item_id)
                continue
            match = self._match(sig)
            if match is None:
                self.add(item_id, sig)
                kept.append(item_id)
            else:
                dropped[item_id] = match
        return kept, dropped

    # -- internals --
    def _as_signature(self, text: str | Signature) -> Signature:
        if isinstance(text, Signature):
            if len(text.hashvalues) != self.config.num_perm:
                raise ValueError(f"signature has {len(text.hashvalues)} values, config needs {self.config.num_perm}")
            return text
        return signature(text, self.config)

    def _match(self, sig: Signature) -> Match | None:
        candidates = self.lsh.query(_Sketch(sig.hashvalues, self.config.seed))
        if not candidates:
            return None
        rows = np.fromiter((self._row[c] for c in candidates), dtype=np.int64, count=len(candidates))
        if self.config.numbers_must_match:
            rows = rows[self._nums[rows] == sig.numbers]
            if not len(rows):
                return None
        # the estimated Jaccard, exactly MinHash.jaccard: the fraction of equal hash values
        est = (self._sigs[rows] == sig.hashvalues).mean(axis=1)
        best = int(np.argmax(est))
        if est[best] < self.config.threshold:
            return None
        # ties: the earliest kept item
        ties = rows[est == est[best]]
        kept_id = self._ids[int(ties.min())]
        return Match(kept_id=kept_id, jaccard=float(est[best]), cluster_id=kept_id)

    def _grow(self, n: int) -> None:
        if n <= len(self._sigs):
            return
        cap = max(n, 2 * len(self._sigs), 1024)
        sigs = np.empty((cap, self.config.num_perm), dtype=np.uint32)
        sigs[:len(self._ids)] = self._sigs[:len(self._ids)]
        nums = np.zeros(cap, dtype=np.int64)
        nums[:len(self._ids)] = self._nums[:len(self._ids)]
        self._sigs, self._nums = sigs, nums
