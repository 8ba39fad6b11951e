"""`synth_problems` and `problem_labels`: reads and writes for problem synthesis (generators/synthesis.py)."""

from __future__ import annotations

from warehouse.db import Warehouse

# Writer responses to knowledge prompts that no problem was read from yet.
_UNREAD_RESPONSES = """
    SELECT g.generation_id, g.prompt_id, g.raw FROM generations g JOIN prompts p USING (prompt_id)
    WHERE p.split = 'knowledge' AND g.generation_id NOT IN (SELECT problem_id FROM synth_problems)
    ORDER BY g.generation_id
"""
# Every stored solution of an accepted problem that has no label yet, in sample order.
_UNLABELLED_SOLUTIONS = """
    SELECT p.prompt_id, p.domain, g.teacher_id, g.raw FROM synth_problems s
    JOIN prompts p USING (prompt_id) JOIN generations g USING (prompt_id)
    WHERE s.status = 'accepted' AND p.prompt_id NOT IN (SELECT prompt_id FROM problem_labels)
    ORDER BY p.prompt_id, g.sample_index
"""
_SYNTHESIZED = """
    SELECT p.prompt_id, p.text, p.domain FROM synth_problems s JOIN prompts p USING (prompt_id)
    WHERE s.status = 'accepted' ORDER BY p.prompt_id
"""


def unread_responses(wh: Warehouse) -> list[dict]:
    """generation_id, prompt_id, raw of each writer response not looked at yet, by generation id."""
    return wh.query(_UNREAD_RESPONSES)


def non_knowledge_prompts(wh: Warehouse) -> list[dict]:
    """prompt_id, text of every stored prompt a new problem must not copy (train and eval)."""
    return wh.query("SELECT prompt_id, text FROM prompts WHERE split <> 'knowledge'")


def store_problems(wh: Warehouse, seeds: list[dict], prompts: list[dict], problems: list[dict]) -> None:
    """The new seeds and prompts and one `synth_problems` row per response read, in one transaction."""
    with wh.transaction() as con:
        wh.insert("seeds", seeds, con=con)
        wh.insert("prompts", prompts, con=con)
        wh.insert("synth_problems", problems, con=con)


def synthesized_prompts(wh: Warehouse) -> list[dict]:
    """prompt_id, text, domain of every accepted problem, by prompt id."""
    return wh.query(_SYNTHESIZED)


def unlabelled_solutions(wh: Warehouse) -> list[dict]:
    """prompt_id, domain, teacher_id, raw of the solutions to accepted problems with no label yet."""
    return wh.query(_UNLABELLED_SOLUTIONS)


def store_labels(wh: Warehouse, rows: list[dict]) -> int:
    return wh.insert("problem_labels", rows)
