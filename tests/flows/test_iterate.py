"""Iterated distillation (`iterate: {rounds: 2}`, flows/iterate.py): round 2's teacher is round 1's student.

The factory's end-to-end setup (tests/flows/test_factory.py): a scripted recipe teacher, the real math verifier, a
tiny real model as the student. Round 2's teacher is a real `transformers` teacher that loads the tiny base model
with round 1's LoRA adapter merged (from its `adapter` field); only its answers are scripted, so the test knows
what curation must keep.
"""


import pytest

from flows.recipe import load_recipe
from generators.seeds import InputError
from generators.teachers import BACKENDS, TeacherConfig
from generators.teachers.hf import TransformersTeacher
from tests.conftest import ROOT
from tests.fakes import ScriptedTeacher
from tests.flows.test_factory import SCRIPT, write_project

ROUND2 = {  # the student-teacher's answers: a new correct one for a1, round 1's own row for a2, a4 solved twice
    "What is 2 + 3?": ["Adding 3 to 2 gives 5.\nThe answer is \\boxed{5}.", "The answer is \\boxed{7}."],
    "What is 4 + 4?": ["4 + 4 = 8\nThe answer is \\boxed{8}.", "It is 10."],
    "What is 10 - 7?": ["The answer is \\boxed{2}.", "The answer is \\boxed{4}."],
    "What is 6 x 2?": ["6 x 2 = 12\nThe answer is \\boxed{12}.",
                       "Six groups of two make twelve altogether, counting in pairs.\nThe answer is \\boxed{12}."],
}


class StudentTeacher(TransformersTeacher):
    """A real transformers teacher (base + adapter loaded and merged), answering from ROUND2; `crash_after`
    batches make it fail midway, like a killed run."""

    built: list[TeacherConfig] = []
    crash_after: int | None = None

    def __init__(self, config: TeacherConfig):
        super().__init__(config)
        StudentTeacher.built.append(config)
        self.script = ScriptedTeacher(config, ROUND2)

    def generate(self, requests, budget=None):
        size = self.config.batch_size
        for i, start in enumerate(range(0, len(requests), size)):
            if i == StudentTeacher.crash_after:
                raise RuntimeError("teacher process died")
            yield from self.script.generate(requests[start:start + size], budget)


@pytest.fixture
def project(tmp_path, tiny_model, monkeypatch):
    real = BACKENDS["transformers"]
    monkeypatch.setitem(BACKENDS, "scripted", lambda cfg: ScriptedTeacher(cfg, SCRIPT))
    monkeypatch.setitem(BACKENDS, "transformers", lambda cfg: StudentTeacher(cfg) if cfg.adapter else real(cfg))
    ScriptedTeacher.history, StudentTeacher.built, StudentTeacher.crash_after = [], [], None
    recipe = write_project(tmp_path, tiny_model)
    iterated = tmp_path / "iterate.yaml"
    iterated.write_text(recipe.read_text() + "iterate: {rounds: 2}\n")
    return recipe, iterated, tmp_path / "w.duckdb"


TABLES = ("generations", "verifications", "curated", "rejections", "snapshots", "snapshot_rows", "training_runs",
          "evaluations", "evaluation_items")
# Round 2's rows back to the training run (and snapshot) whose student generated them: the module docstring's query.
ROUND2_LINEAGE = """
    SELECT g.generation_id, te.teacher_id, tr.training_run_id AS from_run, tr.snapshot_id AS from_snapshot
    FROM generations g
    JOIN teachers te USING (teacher_id)
    JOIN training_runs tr ON tr.output_dir IN (te.params->>'adapter', te.model)
    ORDER BY g.generation_id
"""


def test_two_rounds_continue_a_plain_run_resume_after_a_crash_and_rerun_as_a_no_op(prefect_api, project):
    from flows.factory import factory
    from warehouse.db import Warehouse

    plain, iterated, db = project
    first = factory(recipe=str(plain), warehouse=str(db))  # today's factory: round 1 alone
    wh = Warehouse(db)
    round1_run = first["train"]["training_run_id"]

    # 2 rounds on that warehouse; round 2's teacher dies after its first batch (3 of its 8 requests stored)
    ScriptedTeacher.history, StudentTeacher.crash_after = [], 1
    with pytest.raises(RuntimeError, match="teacher process died"):
        factory(recipe=str(iterated), warehouse=str(db))
    assert wh.scalar("SELECT count(*) FROM training_runs") == 1, "round 1 was reused, not retrained"
    [teacher] = StudentTeacher.built
    assert teacher.adapter == first["train"]["output_dir"] and teacher.model == first["train"]["base_model"]
    assert teacher.teacher_id != load_recipe(str(plain)).teacher.teacher_id
    stored = {r["generation_id"] for r in wh.query("SELECT generation_id FROM generations WHERE teacher_id = ?",
                                                    [teacher.teacher_id])}
    assert len(stored) == 3
    asked_before = [r.key for r in ScriptedTeacher.history]
    assert set(asked_before) == stored, "round 1's teacher was asked nothing: only round 2's first batch"

    # the rerun resumes: round 1 reused, round 2 asks only for its 5 missing samples
    ScriptedTeacher.history, StudentTeacher.crash_after = [], None
    summary = factory(recipe=str(iterated), warehouse=str(db))
    assert len(ScriptedTeacher.history) == 5 and not {r.key for r in ScriptedTeacher.history} & stored
    r1, r2 = summary["rounds"]
    assert r1["train"]["training_run_id"] == round1_run and r1["train"]["reused"] is True
    assert r1["snapshot"]["snapshot_id"] == first["snapshot"]["snapshot_id"], "round 1's snapshot is the plain run's"
    assert r2["teacher_id"] == teacher.teacher_id != r1["teacher_id"]
    assert r2["teacher_run_id"] == round1_run
    assert r2["generate"]["requested"] == 5 and r2["figures"]["generations"] == 8

    # what round 2 kept: a1's new solution (a1 now has 2 rows), a4's two; a2's repeats round 1's row
    reasons = {r["reason"]: r["n"] for r in wh.query(
        "SELECT reason, count(*) AS n FROM rejections JOIN generations g USING (generation_id) "
        "WHERE g.teacher_id = ? GROUP BY 1", [teacher.teacher_id])}
    assert reasons == {"not_verified": 4, "exact_duplicate": 1}
    assert r2["figures"]["kept"] == 3 and r2["figures"]["verified_rate"] == 4 / 8

    # the union snapshot: every round-1 row plus round 2's three, general rows at 2:3
    rows = {r["generation_id"]: r["teacher_id"] for r in wh.query(
        "SELECT sr.generation_id, g.teacher_id FROM snapshot_rows sr JOIN generations g USING (generation_id) "
        "WHERE sr.snapshot_id = ?", [r2["snapshot"]["snapshot_id"]])}
    round1_rows = {r["generation_id"] for r in wh.query(
        "SELECT generation_id FROM snapshot_rows WHERE snapshot_id = ? AND kind = 'distilled'",
        [first["snapshot"]["snapshot_id"]])}
    assert round1_rows <= set(rows) and len(round1_rows) == 3
    assert sorted(rows.values()).count(teacher.teacher_id) == 3 and len(rows) == 6
    assert (r2["snapshot"]["n_distilled"], r2["snapshot"]["n_general"]) == (6, 4)
    assert r2["snapshot"]["name"].startswith("e2e-round2-")

    # round 2's student is fresh (its own run, on the union snapshot) and evaluated beside round 1's and the teacher
    assert r2["train"]["training_run_id"] != round1_run and r2["train"]["reused"] is False
    assert r2["train"]["snapshot_id"] == r2["snapshot"]["snapshot_id"]
    evaluated = {e["role"]: e.get("training_run_id") for e in summary["eval"]}
    assert set(evaluated) == {"base", f"student:sft:{round1_run[:8]}",
                              f"student:sft:{r2['train']['training_run_id'][:8]}", "teacher"}

    # lineage: every round-2 generation leads, in SQL, to the training run whose student wrote it
    lineage = [r for r in wh.query(ROUND2_LINEAGE) if r["teacher_id"] == teacher.teacher_id]
    assert len(lineage) == 8 and {(r["from_run"], r["from_snapshot"]) for r in lineage} == \
        {(round1_run, first["snapshot"]["snapshot_id"])}
    assert teacher.teacher_id in {r["teacher_id"] for r in wh.query("SELECT teacher_id FROM teachers")}

    # a third run reuses everything: no teacher call, the student-teacher not even loaded, no training
    before = {t: wh.scalar(f"SELECT count(*) FROM {t}") for t in TABLES}
    ScriptedTeacher.history, built = [], len(StudentTeacher.built)
    again = factory(recipe=str(iterated), warehouse=str(db))
    assert ScriptedTeacher.history == [] and len(StudentTeacher.built) == built
    assert all(r["train"]["reused"] for r in again["rounds"]) and again["rounds"][1]["generate"]["requested"] == 0
    assert {t: wh.scalar(f"SELECT count(*) FROM {t}") for t in TABLES} == before


def test_a_teacher_with_an_adapter_loads_it_and_gets_its_own_id(tiny_model, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    lora = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model),
                          LoraConfig(r=4, target_modules=["q_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    plain, adapted = TeacherConfig(model=tiny_model), TeacherConfig(model=tiny_model, adapter=str(tmp_path / "adapter"))
    assert plain.teacher_id != adapted.teacher_id and adapted.to_row()["params"]["adapter"] == str(tmp_path / "adapter")
    assert "adapter" not in plain.sampling
    base, merged = TransformersTeacher(plain), TransformersTeacher(adapted)
    q = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(base.model.state_dict()[q], merged.model.state_dict()[q]), "the adapter is merged"
    k = "model.layers.0.self_attn.k_proj.weight"
    assert torch.equal(base.model.state_dict()[k], merged.model.state_dict()[k])


def test_teacher_ids_without_an_adapter_are_unchanged_and_rounds_1_changes_nothing(tmp_path):
    from flows.iterate import round_spec

    quickstart = load_recipe("quickstart")
    assert quickstart.teacher.teacher_id == "d4ecc1c3775af705", "the demo warehouse's teacher id (2026-12-01)"
    one = tmp_path / "one.yaml"
    one.write_text((ROOT / "recipes/quickstart.yaml").read_text() + "iterate: {rounds: 1}\n")
    same = load_recipe(str(one))
    assert same.teacher.teacher_id == quickstart.teacher.teacher_id
    assert round_spec(same, 1, []) == (quickstart.snapshot, "quickstart") == round_spec(quickstart, 1, [])
    assert [s.run_key() for s in (same.train, *same.students)] == \
        [s.run_key() for s in (quickstart.train, *quickstart.students)]
    two = load_recipe("iterate")
    assert two.iterate.rounds == 2 and two.teacher == quickstart.teacher and two.train == quickstart.train
    spec, name = round_spec(two, 1, [])
    assert name == "quickstart" and spec.teachers == [quickstart.teacher.teacher_id]


def test_round_teachers_follow_the_recipe_teacher_unless_iterate_overrides(tmp_path):
    from flows.iterate import round_teacher

    path = tmp_path / "r.yaml"
    path.write_text((ROOT / "recipes/quickstart.yaml").read_text()
                    + "iterate: {rounds: 3, n: 4, few_shot: false, temperature: 0.9}\n")
    recipe = load_recipe(str(path))
    student = {"output_dir": "/x/runs/abc/final", "training_run_id": "abc"}
    t = round_teacher(recipe, student)
    assert (t.model, t.adapter, t.n, t.few_shot, t.temperature) == \
        (recipe.train.base_model, "/x/runs/abc/final", 4, (), 0.9)
    assert (t.top_p, t.max_tokens, t.seed, t.system_prompt) == \
        (recipe.teacher.top_p, recipe.teacher.max_tokens, recipe.teacher.seed, recipe.teacher.system_prompt)
    path.write_text((ROOT / "recipes/quickstart.yaml").read_text() + "iterate: {rounds: 2}\n")
    default = round_teacher(load_recipe(str(path)), student)
    assert default.few_shot == recipe.teacher.few_shot and default.n == recipe.teacher.n
    assert default.temperature == recipe.teacher.temperature
    assert round_teacher(load_recipe("iterate"), student).few_shot == ()


@pytest.mark.parametrize("body,message", [
    ("iterate: {rounds: 0}\n", "rounds must be an integer from 1 to 20"),
    ("iterate: {rounds: 1.5}\n", "`iterate.rounds` must be an integer"),
    ("iterate: {rounds: 2, n: 0}\n", "n must be a positive integer"),
    ("iterate: {rounds: 2, teacher: x}\n", "unknown key `iterate.teacher`"),
])
def test_bad_iterate_sections_are_refused_naming_the_line(tmp_path, body, message):
    path = tmp_path / "r.yaml"
    path.write_text((ROOT / "recipes/quickstart.yaml").read_text() + body)
    with pytest.raises(InputError, match=message) as err:
        load_recipe(str(path))
    assert err.value.line == len(path.read_text().splitlines())


def test_an_adapter_needs_the_transformers_backend():
    with pytest.raises(ValueError, match="adapter needs backend transformers"):
        TeacherConfig(backend="openai", model="m", adapter="/x")


def test_recipe_explain_lists_the_iterate_section_with_help():
    from flows.recipe import explain

    rows = {r["field"]: r for r in explain(load_recipe("iterate")) if r["section"] == "iterate"}
    assert set(rows) == {"rounds", "n", "temperature", "few_shot"}
    assert rows["rounds"]["value"] == "2" and rows["rounds"]["default"] == "1"
    assert all(len(r["help"]) > 20 for r in rows.values())
