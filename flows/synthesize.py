"""Problem synthesis stages (see generators/synthesis.py for the method).

`write_problems` asks the writer teacher for new problems from the knowledge
prompts, reads one problem per response, drops near-copies and registers the
rest as train seeds and prompts. The generate stage then solves each
`synthesis.solutions` times, and `label_problems` turns the solutions into a
self-consistency label once all k are stored. Every step is keyed by ids
(writer generation -> problem -> seed -> prompt), so reruns redo nothing.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.generate import ask_teacher
from flows.recipe import Inputs, Recipe
from generators.seeds import Seed
from generators.synthesis import majority_label, nearest, parse_problem, shingles
from generators.teachers import Budget, Request, generation_id
from generators.templates import render_prompts
from verifiers import verifier_for
from verifiers.math import extract_answer
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id


@task(cache_policy=NO_CACHE)
def write_problems(wh: Warehouse, recipe: Recipe, inputs: Inputs, run_id: str, budget: Budget) -> dict:
    cfg = recipe.synthesis
    stats = {"requested": 0, "accepted": 0, "near_copy": 0, "unparseable": 0}
    have = {r["generation_id"] for r in wh.query("SELECT generation_id FROM generations")}
    plans: dict = {}
    prompt_of = {}
    for p in inputs.knowledge_prompts:
        writer = recipe.writer_for(p.seed.domain)
        for i in range(cfg.problems_per_item):
            key = generation_id(p.prompt_id, writer.teacher_id, i)
            prompt_of[key] = p.prompt_id
            if key not in have:
                plans.setdefault(writer, []).append(Request(key, p.text, i))
    for writer, requests in plans.items():
        stats["requested"] += len(requests)
        ask_teacher(wh, writer, requests, prompt_of, budget, run_id, label="write problems")
    stats.update(_register_problems(wh, recipe, inputs, run_id))
    get_run_logger().info("synthesis: %(requested)d writer requests; new problems: %(accepted)d accepted, "
                          "%(near_copy)d near copies, %(unparseable)d unparseable", stats)
    return stats


def _register_problems(wh: Warehouse, recipe: Recipe, inputs: Inputs, run_id: str) -> dict:
    """Read a problem from every writer response not yet looked at; keep the ones that are new."""
    cfg = recipe.synthesis
    knowledge = {p.prompt_id: p.seed for p in inputs.knowledge_prompts}
    fresh = wh.query("""
        SELECT g.generation_id, g.prompt_id, g.raw FROM generations g JOIN prompts p USING (prompt_id)
        WHERE p.split = 'knowledge' AND g.generation_id NOT IN (SELECT problem_id FROM synth_problems)
        ORDER BY g.generation_id""")
    fresh = [r for r in fresh if r["prompt_id"] in knowledge]
    if not fresh:
        return {}
    pool = {r["prompt_id"]: shingles(r["text"]) for r in wh.query(
        "SELECT prompt_id, text FROM prompts WHERE split <> 'knowledge'")}
    pool.update({p.prompt_id: shingles(p.text) for p in inputs.prompts})  # eval prompts included: never re-ask them
    rows, seeds, prompts, counts = [], [], [], {"accepted": 0, "near_copy": 0, "unparseable": 0}
    stamp = now()
    for r in fresh:
        item = knowledge[r["prompt_id"]]
        question = parse_problem(r["raw"])
        row = {"problem_id": r["generation_id"], "knowledge_id": item.seed_id, "question": question,
               "run_id": run_id, "created_at": stamp}
        if question is None:
            rows.append({**row, "status": "unparseable"})
            counts["unparseable"] += 1
            continue
        similar, score = nearest(shingles(question), pool)
        if similar is not None and score >= cfg.near_copy_threshold:
            rows.append({**row, "status": "near_copy", "similar_prompt_id": similar, "similarity": score})
            counts["near_copy"] += 1
            continue
        seed = Seed(seed_id=f"synth-{stable_id(item.domain, question, length=12)}", domain=item.domain,
                    question=question, reference=None, split="train", topic=item.topic,
                    source_file=item.source_file, source_line=item.source_line,
                    payload={"id": None, "domain": item.domain, "topic": item.topic, "question": question,
                             "knowledge_id": item.seed_id, "problem_id": r["generation_id"]})
        seed = Seed(**{**seed.__dict__, "payload": {**seed.payload, "id": seed.seed_id}})
        prompt = render_prompts([seed], inputs.templates)[0]
        pool[prompt.prompt_id] = shingles(prompt.text)  # later problems must differ from this one too
        rows.append({**row, "status": "accepted", "similar_prompt_id": similar, "similarity": score,
                     "seed_id": seed.seed_id, "prompt_id": prompt.prompt_id})
        seeds.append({"seed_id": seed.seed_id, "domain": seed.domain, "topic": seed.topic, "split": "train",
                      "question": question, "reference": None, "source_file": seed.source_file,
                      "source_line": seed.source_line, "payload": seed.payload, "run_id": run_id, "created_at": stamp})
        prompts.append({**prompt.to_row(), "run_id": run_id, "created_at": stamp})
        counts["accepted"] += 1
    with wh.transaction() as con:
        wh.insert("seeds", seeds, con=con)
        wh.insert("prompts", prompts, con=con)
        wh.insert("synth_problems", rows, con=con)
    return counts


def synthesized_prompts(wh: Warehouse) -> list[dict]:
    return wh.query("""SELECT p.prompt_id, p.text, p.domain FROM synth_problems s JOIN prompts p USING (prompt_id)
                       WHERE s.status = 'accepted' ORDER BY p.prompt_id""")


@task(cache_policy=NO_CACHE)
def label_problems(wh: Warehouse, recipe: Recipe, run_id: str) -> dict:
    """Self-consistency labels for synthesized prompts whose k solutions are all stored."""
    cfg = recipe.synthesis
    rows = wh.query("""
        SELECT p.prompt_id, p.domain, g.teacher_id, g.raw FROM synth_problems s
        JOIN prompts p USING (prompt_id) JOIN generations g USING (prompt_id)
        WHERE s.status = 'accepted' AND p.prompt_id NOT IN (SELECT prompt_id FROM problem_labels)
        ORDER BY p.prompt_id, g.sample_index""")
    solutions: dict[str, list[str]] = {}
    domain_of = {}
    for r in rows:
        if r["teacher_id"] == recipe.teacher_for(r["domain"]).teacher_id:
            solutions.setdefault(r["prompt_id"], []).append(r["raw"])
            domain_of[r["prompt_id"]] = r["domain"]
    out, stamp, stats = [], now(), {"labelled": 0, "accepted": 0}
    verifiers = {d: verifier_for(d) for d in set(domain_of.values())}
    for prompt_id, texts in solutions.items():
        if len(texts) < cfg.solutions:
            continue  # some solutions failed or the budget stopped: label when all k are in
        verifier = verifiers[domain_of[prompt_id]]
        label = majority_label([extract_answer(t)[0] for t in texts[: cfg.solutions]],
                               lambda a, b, v=verifier: v.verify(f"\\boxed{{{a}}}", b).passed)
        accepted = label.accepted(cfg.min_agreement)
        out.append({"prompt_id": prompt_id, "method": "self_consistency", "label": label.answer,
                    "agreement": label.agreement, "votes": label.votes, "samples": label.samples,
                    "accepted": accepted, "min_agreement": cfg.min_agreement, "groups": label.groups,
                    "run_id": run_id, "created_at": stamp})
        stats["labelled"] += 1
        stats["accepted"] += accepted
    wh.insert("problem_labels", out)
    get_run_logger().info("synthesis: %(labelled)d problems labelled, %(accepted)d reached the agreement", stats)
    return stats
