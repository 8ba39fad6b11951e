"""Iterated distillation (STaR / ReST style): each round's student becomes the next round's teacher.

A recipe's `iterate: {rounds: R}` (flows/recipe.py:IterateConfig) runs the factory's data and training stages
R times. Round 1 is the recipe as written: its teacher, curation, snapshot and students (`train:` and
`students:`). Each round r >= 2 then:

1. **teacher**: the recipe teacher with the base model + round r-1's *first* student (its `train:` method)
   in place of its model: `model` = `train.base_model` and `adapter` = that run's `output_dir` for a LoRA run
   (a full fine-tune: `model` = its `output_dir`), backend `transformers`. Everything else is the recipe
   teacher's (temperature, top-p, max_tokens, system prompt, few-shot turns, seed), except what `iterate:`
   overrides: `n`, `temperature`, and `few_shot: false` (no turns: the student answers bare, as trained);
2. **generate** the recipe's train prompts (the same `max_prompts`; every domain to this teacher, no synthesis),
   **verify** and **curate** them (curation is warehouse-wide: exact and near dedup and the per-prompt cap count
   what earlier rounds kept, so a round adds rows mostly to prompts that earlier rounds did not fill);
3. **snapshot** the union of every round's curated rows (plus general data at the recipe's ratio), named
   `<recipe>-round<r>-<hash>` (or `<snapshot.name>-round<r>`);
4. **train** a fresh `train:` student from the base model on it (not `students:`: those train in round 1).

The factory then evaluates base, every round's students and the recipe teacher together, so each student
has its McNemar test against base and teacher on the same items.

Ids and resume. A teacher with an adapter has its own teacher id (the adapter path is part of its sampling
identity, `TeacherConfig.sampling`; teachers without one keep their ids), so a round's generations never
mix with the recipe teacher's. Every id downstream is derived from content as elsewhere: the round teacher
comes from round r-1's training run id, whose output_dir names it, so a killed run rerun finds the same
teacher id, asks only for the generations it lacks, and reuses snapshots and finished training runs.
When `rounds >= 2` every round's snapshot names its teachers explicitly (`snapshot.teachers`, or the recipe's
teacher ids, plus each later round's teacher id): round 1's snapshot never takes in round 2's rows on a
rerun (its content, hence its name and id, stays what round 1 made). With `rounds: 1` nothing here runs and
nothing changes.

Lineage: a round's generations point at their teacher row, whose `params.adapter` is the `output_dir` of the
training run that produced that teacher (`model` for a full fine-tune), and that run names its snapshot:

```sql
SELECT g.generation_id, te.teacher_id, tr.training_run_id AS from_run, tr.snapshot_id AS from_snapshot
FROM generations g
JOIN teachers te USING (teacher_id)
JOIN training_runs tr ON tr.output_dir IN (te.params->>'adapter', te.model);
```
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from prefect import get_run_logger

from flows.curate import curate
from flows.generate import generate
from flows.recipe import Inputs, Recipe
from flows.snapshot import snapshot
from flows.train import train
from flows.verify import verify
from generators.teachers import Budget, TeacherConfig
from warehouse import quality
from warehouse.db import Warehouse
from warehouse.lease import lease
from warehouse.snapshot_spec import SnapshotSpec
from warehouse.snapshots import snapshot_lineage


def round_teacher(recipe: Recipe, student: dict) -> TeacherConfig:
    """The teacher of the round after the one whose first student is `student` (a training run row/result)."""
    it, base = recipe.iterate, recipe.teacher
    lora = recipe.train.lora
    return replace(base, backend="transformers",
                   model=recipe.train.base_model if lora else student["output_dir"],
                   adapter=student["output_dir"] if lora else None,
                   n=it.n or base.n, temperature=base.temperature if it.temperature is None else it.temperature,
                   few_shot=base.few_shot if it.few_shot else ())


def round_spec(recipe: Recipe, r: int, later_teachers: list[str]) -> tuple[SnapshotSpec, str]:
    """Round r's snapshot spec and default name. Unchanged with `rounds: 1`; else the teachers are named: the
    recipe's filter (or its own teachers' ids) plus `later_teachers`, the ids of rounds 2..r."""
    spec = recipe.snapshot
    if recipe.iterate.rounds == 1:
        return spec, recipe.name
    first = spec.teachers if spec.teachers is not None else [t.teacher_id for t in recipe.teachers]
    if r == 1:
        return replace(spec, teachers=first), recipe.name
    name = f"{spec.name}-round{r}" if spec.name else None
    return replace(spec, teachers=[*first, *later_teachers], name=name), f"{recipe.name}-round{r}"


def later_rounds(wh: Warehouse, recipe: Recipe, inputs: Inputs, run_id: str, first: dict) -> list[dict]:
    """Rounds 2..R after round 1 (whose first student is `first`); one dict per round: its teacher, generate,
    verify, curate, snapshot and train results, and `figures` (generations, verified rate, rows kept)."""
    log = get_run_logger()
    out, student, teachers = [], first, []
    for r in range(2, recipe.iterate.rounds + 1):
        teacher = round_teacher(recipe, student)
        teachers.append(teacher.teacher_id)
        log.info("round %d: teacher %s = %s + %s", r, teacher.teacher_id, teacher.model, teacher.adapter)
        step = {"round": r, "teacher_id": teacher.teacher_id, "teacher_run_id": student["training_run_id"],
                **teacher_round(wh, recipe, inputs, run_id, teacher)}
        step["curate"] = curate(wh, run_id, recipe.curate)
        spec, default_name = round_spec(recipe, r, teachers)
        step["snapshot"] = snapshot(wh, spec, run_id, default_name)
        step["train"] = student = train(wh, step["snapshot"]["name"], recipe.train, run_id)
        step["figures"] = round_figures(wh, teacher.teacher_id, step["snapshot"])
        out.append(step)
    return out


def teacher_round(wh: Warehouse, recipe: Recipe, inputs: Inputs, run_id: str, teacher: TeacherConfig) -> dict:
    """Generate the recipe's train prompts with `teacher` (every domain, no synthesis) and verify them, under the
    recipe's lease and a budget of its own (the recipe's `budget:`, anew)."""
    only = replace(recipe, teacher=teacher, routes={}, synthesis=None)
    with lease(wh, recipe.name, run_id):
        budget = Budget(recipe.budget, recipe.prices)
        generated = generate(wh, only, inputs, run_id, budget)
        generated["spent"] = budget.spent()
        return {"generate": generated, "verify": verify(wh, run_id, recipe.verify)}


def round_figures(wh: Warehouse, teacher_id: str, snap: dict) -> dict:
    """A round's generations and verified rate (all of its teacher's, this run's and earlier), and the rows of its
    teacher in its union snapshot (what curation kept of them)."""
    totals = quality.totals(wh, [teacher_id])
    kept = Counter(r["teacher_id"] for r in snapshot_lineage(wh, snap["snapshot_id"]) if r["kind"] == "distilled")
    return {"generations": totals["generations"], "prompts_sent": totals["prompts_sent"],
            "verified_rate": totals["verified_rate"], "kept": kept.get(teacher_id, 0)}


def first_round(wh: Warehouse, recipe: Recipe, summary: dict) -> dict:
    """Round 1 in the same shape as `later_rounds`' entries (for the summary)."""
    ids = [t.teacher_id for t in recipe.teachers]
    totals = quality.totals(wh, ids)
    kept = Counter(r["teacher_id"] for r in snapshot_lineage(wh, summary["snapshot"]["snapshot_id"])
                   if r["kind"] == "distilled")
    return {"round": 1, "teacher_id": recipe.teacher.teacher_id, "teacher_run_id": None,
            "generate": summary["generate"], "verify": summary["verify"], "curate": summary["curate"],
            "snapshot": summary["snapshot"], "train": summary["train"],
            "figures": {"generations": totals["generations"], "prompts_sent": totals["prompts_sent"],
                        "verified_rate": totals["verified_rate"], "kept": sum(kept[i] for i in ids)}}
