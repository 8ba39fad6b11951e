"""MinHash near-dedup: labelled pairs (recall/precision), datasketch equivalence, persistence across runs.

Labels. A pair is a true near-duplicate when its exact word-shingle Jaccard
(computed here from `shingles()`, not estimated) is >= the configured threshold
AND both texts contain the same numbers: for math, "What is 12 + 7" and
"What is 13 + 7" are different problems, and a worked solution with a changed
number is a different computation, so those pairs are labelled non-duplicates
whatever their Jaccard (`numbers_must_match`, on by default).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from curation import near_dedup
from curation.near_dedup import (
    Match,
    NearDupConfig,
    NearDupIndex,
    Signature,
    normalise,
    numbers_hash,
    parallel_signatures,
    shingle_hashes,
    shingles,
    signature,
    signatures,
    tokens,
)
from warehouse.db import Warehouse

CFG = NearDupConfig()

BASES = [
    "To find the total cost we first compute the price of the apples. Each apple costs 3 dollars and "
    "Maria buys 12 apples, so the apples cost 36 dollars. The oranges cost 2 dollars each and she buys "
    "5 of them, which is 10 dollars. Adding the two amounts gives 46 dollars. She pays with a 50 dollar "
    "bill, so her change is 4 dollars. The answer is 4.",
    "Let the width of the rectangle be w. The length is twice the width, so it is 2w. The perimeter of "
    "a rectangle is two times the sum of length and width, which gives 2(w + 2w) = 6w. We are told the "
    "perimeter is 42, so 6w = 42 and w = 7. The length is therefore 14 and the area is 7 times 14, "
    "which equals 98 square units. The answer is 98.",
    "We want the probability that two fair dice show a sum of 8. There are 36 equally likely outcomes "
    "when rolling two dice. The pairs that add up to 8 are (2,6), (3,5), (4,4), (5,3) and (6,2), which "
    "is 5 outcomes. So the probability is 5 out of 36. This fraction cannot be simplified any further "
    "because 5 is prime and does not divide 36. The answer is 5/36.",
    "First we factor the quadratic expression. We look for two numbers whose product is 6 and whose sum "
    "is 5. Those numbers are 2 and 3, so the expression factors as (x + 2)(x + 3). Setting each factor "
    "equal to zero gives the solutions x = -2 and x = -3. We can check by substituting back into the "
    "original equation, and both values make it zero. The answer is x = -2 or x = -3.",
    "The train travels at a constant speed for the whole journey. It covers 180 kilometres in 3 hours, "
    "so its speed is 60 kilometres per hour. To find how long it takes to travel 300 kilometres at the "
    "same speed, we divide the distance by the speed. That gives 300 divided by 60, which is 5 hours. "
    "Therefore the train needs 5 hours for the longer trip. The answer is 5.",
    "Consider the arithmetic sequence that starts at 7 and increases by 4 each time. The nth term of an "
    "arithmetic sequence is the first term plus n minus one times the common difference. For the 20th "
    "term this is 7 plus 19 times 4, which equals 7 plus 76, giving 83. The sum of the first 20 terms is "
    "the number of terms times the average of the first and last term, so 20 times 45 is 900. The answer is 900.",
    "A recipe needs flour, sugar and butter in the ratio 5 to 2 to 1. The baker wants to use 16 cups of "
    "ingredients in total. The ratio has 8 parts altogether, so each part is 2 cups. Flour takes 5 parts, "
    "which is 10 cups, sugar takes 2 parts, which is 4 cups, and butter takes 1 part, which is 2 cups. "
    "Checking, 10 plus 4 plus 2 makes 16 cups. The answer is 10 cups of flour.",
    "The function f is defined by f(x) = 3x squared minus 4x plus 1. To find its minimum we complete the "
    "square or use the vertex formula. The vertex of a parabola ax squared plus bx plus c is at x equal "
    "to minus b over 2a, which here is 4 over 6, or 2/3. Substituting gives f(2/3) = 4/3 minus 8/3 plus 1, "
    "which is minus 1/3. Since the leading coefficient is positive this is the minimum. The answer is -1/3.",
]

SYNONYMS = {"so": "thus", "gives": "yields", "the": "that", "is": "equals", "we": "one", "find": "get",
            "which": "that", "first": "initially", "answer": "result", "total": "overall"}


def true_jaccard(a: str, b: str, config: NearDupConfig = CFG) -> float:
    sa, sb = shingles(a, config), shingles(b, config)
    return len(sa & sb) / len(sa | sb)


def is_true_duplicate(a: str, b: str, config: NearDupConfig = CFG) -> bool:
    return true_jaccard(a, b, config) >= config.threshold and numbers_hash(a) == numbers_hash(b)


def substitute(text: str, k: int, rng: random.Random) -> str:
    """Replace k words (not numbers) by a synonym or a random filler word."""
    words = text.split()
    idx = [i for i, w in enumerate(words) if not any(c.isdigit() for c in w)]
    for i in rng.sample(idx, k):
        words[i] = SYNONYMS.get(words[i].lower(), rng.choice(["really", "clearly", "now", "here", "just"]))
    return " ".join(words)


def swap_sentences(text: str, rng: random.Random) -> str:
    sents = text.split(". ")
    i, j = rng.sample(range(len(sents) - 1), 2)
    sents[i], sents[j] = sents[j], sents[i]
    return ". ".join(sents)


def change_number(text: str, rng: random.Random) -> str:
    words = text.split()
    idx = [i for i, w in enumerate(words) if w.strip(".,").isdigit()]
    i = rng.choice(idx)
    n = int(words[i].strip(".,"))
    words[i] = words[i].replace(str(n), str(n + rng.randint(1, 9)))
    return " ".join(words)


def labelled_pairs() -> list[tuple[str, str, str]]:
    """(kind, a, b): near-duplicate edits, paraphrase-like rewrites, number changes, unrelated texts."""
    rng = random.Random(7)
    pairs = []
    # ~70-word solutions and ~140-word ones (two joined): one edit costs them ~0.14 and ~0.07 of Jaccard
    docs = BASES + [BASES[i] + " " + BASES[(i + 3) % len(BASES)] for i in range(len(BASES))]
    for doc in docs:
        long = len(doc) > 600
        pairs.append(("format", doc, doc.upper().replace(". ", ".\n\n  ")))        # case, whitespace
        pairs.append(("punctuation", doc, doc.replace(". ", "; ").replace("The ", "the ")))
        pairs.append(("one_word", doc, substitute(doc, 1, rng)))
        pairs.append(("reorder", doc, swap_sentences(doc, rng)))
        pairs.append(("rewrite_light", doc, substitute(doc, 2 if long else 1, rng)))
        pairs.append(("rewrite_medium", doc, substitute(doc, 4 if long else 2, rng)))
        pairs.append(("rewrite_heavy", doc, substitute(doc, 8, rng)))
        pairs.append(("rewrite_very_heavy", doc, substitute(swap_sentences(doc, rng), 14, rng)))
        pairs.append(("number_change", doc, change_number(doc, rng)))
    for i, a in enumerate(BASES):                                                  # unrelated, same domain
        for b in BASES[i + 1:]:
            pairs.append(("unrelated", a, b))
    for i in range(len(BASES)):                                                    # sharing one half
        pairs.append(("half_shared", docs[len(BASES) + i], BASES[(i + 3) % len(BASES)] + " " + BASES[(i + 5) % len(BASES)]))
    pairs += [("short_number", "What is 12 + 7?", "What is 13 + 7?"),
              ("short_number", "Compute 3.5 times 4.", "Compute 3.5 times 5."),
              ("short_operator", "What is 12 + 7?", "What is 12 - 7?"),
              ("short_same", "What is 12 + 7?", "what is 12+7"),
              ("short_reorder_numbers", "Add 12 and 7 together.", "Add 12 and 7 together, please.")]
    return pairs


def reported(a: str, b: str, config: NearDupConfig = CFG) -> Match | None:
    index = NearDupIndex("t", config)
    index.add("a", a)
    return index.check("b", b)


def test_labelled_pairs_recall_and_precision():
    pairs = labelled_pairs()
    near = [p for p in pairs if p[0] != "unrelated" and true_jaccard(p[1], p[2]) >= 0.85]
    non_dup = [p for p in pairs if not is_true_duplicate(p[1], p[2])]
    assert len([p for p in pairs if is_true_duplicate(p[1], p[2])]) >= 30
    assert len(non_dup) >= 30
    kinds = {k for k, a, b in pairs if is_true_duplicate(a, b)}
    assert {"format", "punctuation", "one_word", "reorder"} <= kinds
    # the paraphrase-like rewrites land on both sides of the threshold
    heavy = [true_jaccard(a, b) for k, a, b in pairs if k.startswith("rewrite")]
    assert min(heavy) < CFG.threshold < max(heavy)

    found = {id(p): reported(p[1], p[2]) for p in pairs}
    should = [p for p in near if numbers_hash(p[1]) == numbers_hash(p[2])]
    recall = sum(found[id(p)] is not None for p in should) / len(should)
    hits = [p for p in pairs if found[id(p)] is not None]
    precision = sum(is_true_duplicate(p[1], p[2]) for p in hits) / len(hits)
    assert recall >= 0.9, recall
    assert precision >= 0.9, precision
    # a changed number is never a duplicate, however similar the rest
    assert not [p for p in pairs if p[0] in ("number_change", "short_number", "short_operator") and found[id(p)]]
    assert all(found[id(p)] is None for p in pairs if p[0] == "unrelated")
    assert found[id(next(p for p in pairs if p[0] == "short_same"))] is not None
    for p in hits:
        m = found[id(p)]
        assert m.kept_id == m.cluster_id == "a" and CFG.threshold <= m.jaccard <= 1.0


def test_normalisation():
    assert tokens("What is 12+7? The answer, 3.14, is 1,000 e.g. \u201cquoted\u201d x^2 end.") == [
        "what", "is", "12", "+", "7", "the", "answer", "3.14", "is", "1,000", "e.g", "quoted", "x", "^", "2", "end"]
    assert normalise("A  B\n\tC").split() == ["a", "b", "c"]
    assert numbers_hash("What is 12 + 7") == numbers_hash("Compute 7 plus 12.")
    assert numbers_hash("What is 12 + 7") != numbers_hash("What is 13 + 7")
    assert signature("Hello,   WORLD!", CFG).hashvalues.tolist() == signature("hello world", CFG).hashvalues.tolist()


def test_signature_is_datasketch_minhash_and_jaccard_matches():
    text = BASES[0] + " " + BASES[1]
    sig = signature(text, CFG)
    m = MinHash(num_perm=CFG.num_perm, seed=CFG.seed, hashfunc=int, scheme="affine32")
    m.update_batch(shingle_hashes(normalise(text).encode().split(), CFG).tolist())
    assert sig.hashvalues.dtype == np.uint32
    assert np.array_equal(sig.hashvalues, m.hashvalues)
    other = signature(substitute(text, 6, random.Random(1)), CFG)
    lean = LeanMinHash(seed=CFG.seed, hashvalues=sig.hashvalues, scheme="affine32")
    index = NearDupIndex("t", NearDupConfig(threshold=0.01))
    index.add("a", sig)
    assert index.check("b", other).jaccard == pytest.approx(lean.jaccard(near_dedup.minhash(other, CFG)))
    # the estimate tracks the exact shingle Jaccard
    assert abs(index.check("b", other).jaccard - true_jaccard(text, substitute(text, 6, random.Random(1)))) < 0.1


def test_config_validation_and_s_curve():
    with pytest.raises(ValueError):
        NearDupConfig(bands=10, rows=8)
    assert CFG.candidate_probability(0.85) >= 0.99
    assert CFG.candidate_probability(0.5) < 0.1
    assert NearDupConfig(shingle=4).config_id != CFG.config_id
    assert NearDupConfig().config_id == CFG.config_id


def test_parallel_signatures_equal_serial():
    rng = random.Random(3)
    texts = [substitute(rng.choice(BASES), 5, rng) for _ in range(40)]
    serial = signatures(texts, CFG)
    parallel = parallel_signatures(texts, CFG, workers=2, chunk=10)
    assert all(np.array_equal(a.hashvalues, b.hashvalues) and a.numbers == b.numbers
               for a, b in zip(serial, parallel))


def test_dedup_within_a_batch_in_priority_order():
    rng = random.Random(5)
    dup = substitute(BASES[0], 1, rng)
    items = [("z-long", dup, (1, 50, "z-long")),       # not verified: considered last
             ("b", BASES[0], (0, 40, "b")),
             ("a", dup, (0, 45, "a")),
             ("c", BASES[1], (0, 10, "c")),
             ("c", BASES[1], (0, 10, "c"))]            # the same id twice is kept once
    index = NearDupIndex("s")
    kept, dropped = index.dedup(items)
    assert kept == ["c", "b"]
    assert set(dropped) == {"a", "z-long"}
    assert dropped["a"].kept_id == dropped["a"].cluster_id == "b"
    assert index.pending == 2


def rows(wh: Warehouse) -> list[tuple]:
    return [tuple(r.values()) for r in wh.query("SELECT * FROM minhash_signatures ORDER BY config_id, item_id")]


def test_two_runs_with_a_real_warehouse(tmp_path, monkeypatch):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.init()
    rng = random.Random(11)
    run1 = [(f"r1-{i}", b, (0, i)) for i, b in enumerate(BASES[:6])] + [("r1-dup", substitute(BASES[0], 1, rng), (1, 0))]
    computed = []
    real_apply = near_dedup._Permutations.apply
    monkeypatch.setattr(near_dedup._Permutations, "apply",
                        lambda self, h: computed.append(len(h)) or real_apply(self, h))

    index = NearDupIndex.load(wh, "math", CFG)
    assert len(index) == 0
    kept1, dropped1 = index.dedup(run1)
    assert kept1 == [f"r1-{i}" for i in range(6)] and set(dropped1) == {"r1-dup"}
    assert index.flush(wh) == 6
    assert index.flush(wh) == 0
    after_run1 = rows(wh)
    assert len(after_run1) == 6
    assert {r[1] for r in after_run1} == {"math"} and {r[2] for r in after_run1} == {CFG.config_id}
    assert all(len(r[3]) == 4 * CFG.num_perm for r in after_run1)     # 512 bytes per signature

    # run 2: a fresh process would load; no old signature is recomputed
    computed.clear()
    run2 = [("r2-dup-of-1", substitute(BASES[1], 2, random.Random(2)), (0, 0)),
            ("r2-new", BASES[6], (0, 1)),
            ("r2-dup-of-new", substitute(BASES[6], 1, random.Random(3)), (0, 2)),
            ("r1-0", BASES[0], (0, 3))]                                # an old kept item again: stays kept
    index2 = NearDupIndex.load(wh, "math", CFG)
    assert len(index2) == 6 and computed == []
    kept2, dropped2 = index2.dedup(run2)
    assert len(computed) == 3                                          # only the three new items
    assert kept2 == ["r2-new", "r1-0"]
    assert dropped2["r2-dup-of-1"].kept_id == "r1-1"
    assert dropped2["r2-dup-of-new"].cluster_id == "r2-new"
    assert index2.check("r1-1", BASES[1]) is None                     # a kept item is not its own duplicate
    assert index2.flush(wh) == 1
    after_run2 = rows(wh)
    assert [r for r in after_run2 if r[0].startswith("r1-")] == after_run1   # old rows unchanged

    # rerun of run 2: same decisions, nothing written
    index3 = NearDupIndex.load(wh, "math", CFG)
    assert index3.dedup(run2) == (kept2, dropped2)
    assert index3.add("r2-new", BASES[6]) is False
    assert index3.flush(wh) == 0
    assert rows(wh) == after_run2

    # another scope and another config are separate
    assert len(NearDupIndex.load(wh, "code", CFG)) == 0
    other = NearDupConfig(shingle=4)
    index4 = NearDupIndex.load(wh, "math", other)
    assert len(index4) == 0
    kept4, _ = index4.dedup(run1)
    assert index4.flush(wh) == len(kept4) == 6
    assert wh.scalar("SELECT count(DISTINCT config_id) FROM minhash_signatures") == 2
    assert len(NearDupIndex.load(wh, "math", CFG)) == 7


def test_add_accepts_signatures_and_rejects_wrong_length():
    index = NearDupIndex("s")
    sig = signature(BASES[2], CFG)
    assert index.add("x", sig) is True
    assert index.check("y", BASES[2]) == Match("x", 1.0, "x")
    with pytest.raises(ValueError):
        index.add("z", Signature(sig.hashvalues[:64], 0))
