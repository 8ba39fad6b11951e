"""Curation's quality filters and decontamination, each with the reason and evidence it records."""

import json

from curation.curate import curate
from curation.filters.decontam import Decontaminator
from curation.filters.quality import dominant_script, repetition
from tests.warehouse.test_curation_and_snapshots import add_generation, add_prompt, outcomes
from warehouse.ids import now


def test_quality_filters_each_reject_with_their_reason(wh):
    add_prompt(wh, "p1")
    good = "Add the two numbers: 2 + 3 = 5.\nThe answer is \\boxed{5}."
    add_generation(wh, "g-good", "p1", good, True, tokens=12)
    add_generation(wh, "g-think", "p1", "<think>2 + 3 = 5 so\n</think>The answer is \\boxed{5}. <think>", True)
    add_generation(wh, "g-short", "p1", "Sum first.\nThe answer is \\boxed{5}.", True, tokens=2)
    add_generation(wh, "g-long", "p1", "Count on.\nThe answer is \\boxed{5}.", True, tokens=900)
    add_generation(wh, "g-loop", "p1", "add two and three\n" * 6 + "The answer is \\boxed{5}.", True, tokens=20)
    stats = curate(wh, run_id="r1", max_per_prompt=0, min_tokens=3, max_tokens=500, near_dedup=False)
    got = outcomes(wh)
    assert got["g-good"] == "kept"
    assert got["g-think"] == "malformed_reasoning"
    assert got["g-short"] == "too_short" and got["g-long"] == "too_long"
    assert got["g-loop"] == "repetitive"
    assert stats.kept == 1


def test_language_mismatch_needs_enough_letters_to_judge():
    assert dominant_script("Please add the numbers two and three together") == "LATIN"
    assert dominant_script("Сложим два числа и получим пять, это просто") == "CYRILLIC"
    assert dominant_script("2 + 3 = 5, x^2") is None, "symbols and digits are not judged"
    assert dominant_script("请把这两个数字相加然后告诉我答案是多少谢谢你的帮助") == "CJK"


def test_language_mismatch_is_rejected_when_both_sides_are_judged(wh):
    wh.insert("prompts", [{"prompt_id": "p2", "seed_id": "s", "template_id": "t@1", "domain": "math",
                           "split": "train", "text": "Please add the numbers two and three together carefully.",
                           "reference": "5", "run_id": "r", "created_at": now()}])
    add_generation(wh, "g-ru", "p2", "Сложим два числа и получим пять, это очень просто.\nОтвет: \\boxed{5}.", True)
    add_generation(wh, "g-en", "p2", "Two plus three makes five, which is simple enough.\nThe answer is \\boxed{5}.",
                   True)
    curate(wh, run_id="r1", near_dedup=False)
    assert outcomes(wh) == {"g-ru": "language_mismatch", "g-en": "kept"}
    details = json.loads(wh.query("SELECT details FROM rejections WHERE generation_id = 'g-ru'")[0]["details"])
    assert details == {"prompt_script": "LATIN", "response_script": "CYRILLIC"}


def test_repetition_measures():
    assert repetition("a\nb\na\na") == (0.5, 0.0)
    varied = " ".join(f"w{i}" for i in range(60))
    assert repetition(varied) == (0.0, 0.0)
    looped = "the same four words " * 15
    assert repetition(looped)[1] > 0.9


def test_decontamination_hits_and_misses():
    d = Decontaminator([{"prompt_id": "e1", "text": "A train travels 180 km in 2.5 hours. What is its average speed?"},
                        {"prompt_id": "e2", "text": "What is 4 × 10?"},
                        {"prompt_id": "e3", "text": "Lucas reads 11 pages every day. How many pages does Lucas read "
                                                    "in 6 days?"}], n=8)
    hit = d.hit("Q: a train travels 180 km in 2.5 hours . what is the speed?", "")
    assert hit["eval_prompt_id"] == "e1" and hit["field"] == "prompt" and hit["share"] == 0.6  # 6 of its 10 distinct 8-grams
    assert d.hit("Maya reads 20 pages every day. How many pages does Maya read in 3 days?", "") is None, \
        "the same template with other names and numbers is another problem"
    assert d.hit("What is 4 × 10? Then add 2.", "")["eval_prompt_id"] == "e2", "a short eval prompt must appear whole"
    assert d.hit("What is 4 + 10?", "") is None, "operators are words: 4 + 10 is another problem"
    assert d.hit("A train travels 190 km in 2.5 hours.", "") is None
    assert d.hit("unrelated", "so what is 4 × 10 ? it is 40")["field"] == "response"


def test_training_rows_overlapping_an_eval_prompt_are_rejected_with_the_eval_item(wh):
    wh.insert("prompts", [{"prompt_id": pid, "seed_id": pid, "template_id": "t@1", "domain": "math", "split": split,
                           "text": text, "reference": "40", "run_id": "r",
                           "created_at": now()}
                          for pid, split, text in [("e1", "eval", "What is 4 × 10?"),
                                                   ("t1", "train", "What is 4 × 10? Explain."),
                                                   ("t2", "train", "What is 4 + 10?")]])
    add_generation(wh, "g1", "t1", "4 × 10 = 40.\nThe answer is \\boxed{40}.", True, extracted="40")
    add_generation(wh, "g2", "t2", "4 + 10 = 14.\nThe answer is \\boxed{14}.", True, extracted="14")
    curate(wh, run_id="r1", near_dedup=False)
    assert outcomes(wh) == {"g1": "decontaminated", "g2": "kept"}
    details = json.loads(wh.query("SELECT details FROM rejections WHERE generation_id = 'g1'")[0]["details"])
    assert details["eval_prompt_id"] == "e1" and details["field"] == "prompt"


def test_a_second_run_near_dedups_against_what_the_first_kept(wh):
    # the same problem registered twice (say from two seed files): the rows would teach the same thing
    wh.insert("prompts", [{"prompt_id": pid, "seed_id": pid, "template_id": "t@1", "domain": "math", "split": "train",
                           "text": text, "reference": "59", "run_id": "r", "created_at": now()} for pid, text in [
        ("p1", "Basket A has 24 apples and basket B has 35 apples. How many apples are there in total?"),
        ("p2", "Basket A has 24 apples and basket B has 35 apples. How many apples are there in total?")]])
    base = ("First add the tens: 20 + 30 = 50. Then add the ones: 4 + 5 = 9. Together that makes 50 + 9 = 59, "
            "so the total number of apples in both baskets is 59.\nThe answer is \\boxed{59}.")
    add_generation(wh, "g-first", "p1", base, True, tokens=40, extracted="59")
    curate(wh, run_id="run-1")
    signatures = wh.scalar("SELECT count(*) FROM minhash_signatures")
    assert signatures == 1
    edited = base.replace("so the total number", "so the total count")
    add_generation(wh, "g-again", "p2", edited, True, tokens=41, extracted="59")
    other = base.replace("59", "61").replace("4 + 5 = 9", "4 + 7 = 11").replace("50 + 9", "50 + 11")
    add_generation(wh, "g-other", "p2", other, True, tokens=42, extracted="61")
    stats = curate(wh, run_id="run-2")
    got = outcomes(wh)
    assert got["g-again"] == "near_duplicate", "a later run dedups against the earlier kept row"
    assert got["g-other"] == "kept", "different numbers make a different solution"
    details = json.loads(wh.query("SELECT details FROM rejections WHERE generation_id = 'g-again'")[0]["details"])
    assert details["cluster_id"] == "g-first" and details["jaccard"] >= 0.82
    assert stats.rejected == {"near_duplicate": 1}
    assert wh.scalar("SELECT count(*) FROM minhash_signatures") == 2, "only newly kept rows add signatures"


def test_public_eval_sets_are_decontaminated_against_but_synthesis_writer_prompts_are_not(wh):
    wh.insert("prompts", [{"prompt_id": pid, "seed_id": pid, "template_id": "t@1", "domain": "math", "split": split,
                           "text": text, "reference": "40", "run_id": "r", "created_at": now()}
                          for pid, split, text in [("h1", "gsm8k", "Ann has 4 bags of 10 apples. How many apples?"),
                                                   ("k1", "knowledge", "Write a problem: what is 6 × 7 in total?"),
                                                   ("t1", "train", "Ann has 4 bags of 10 apples. How many apples?"),
                                                   ("t2", "train", "Write a problem: what is 6 × 7 in total?")]])
    add_generation(wh, "g1", "t1", "4 × 10 = 40.\nThe answer is \\boxed{40}.", True, extracted="40")
    add_generation(wh, "g2", "t2", "6 × 7 = 42.\nThe answer is \\boxed{42}.", True, extracted="42")
    curate(wh, run_id="r1")
    assert outcomes(wh) == {"g1": "decontaminated", "g2": "kept"}
