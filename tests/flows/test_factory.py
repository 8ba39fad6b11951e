"""The factory flow end to end under Prefect's test harness: a scripted teacher, the real
math verifier, a tiny real model as the student, real DuckDB."""

import json

import pytest

from generators.seeds import InputError
from generators.teachers import BACKENDS
from tests.fakes import ScriptedTeacher

SEEDS = [
    {"id": "a1", "domain": "math", "question": "What is 2 + 3?", "answer": "5"},
    {"id": "a2", "domain": "math", "question": "What is 4 + 4?", "answer": "8"},
    {"id": "a3", "domain": "math", "question": "What is 10 - 7?", "answer": "3"},
    {"id": "a4", "domain": "math", "question": "What is 6 x 2?", "answer": "12"},
    {"id": "e1", "domain": "math", "question": "What is 1 + 1?", "answer": "2", "split": "eval"},
    {"id": "e2", "domain": "math", "question": "What is 9 - 4?", "answer": "5", "split": "eval"},
]
SCRIPT = {  # sample 0 is right, sample 1 wrong; a4's teacher never gets it right
    "What is 2 + 3?": ["2 + 3 = 5\nThe answer is \\boxed{5}.", "The answer is \\boxed{6}."],
    "What is 4 + 4?": ["4 + 4 = 8\nThe answer is \\boxed{8}.", "It is 9."],
    "What is 10 - 7?": ["<think>10 - 7 = 3</think>\n\\boxed{3}", "The answer is \\boxed{4}."],
    "What is 6 x 2?": ["The answer is \\boxed{11}.", "The answer is \\boxed{14}."],
    "What is 1 + 1?": ["The answer is \\boxed{2}."],
    "What is 9 - 4?": ["The answer is \\boxed{5}."],
}


@pytest.fixture
def project(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setitem(BACKENDS, "scripted", lambda cfg: ScriptedTeacher(cfg, SCRIPT))
    ScriptedTeacher.history = []
    return write_project(tmp_path, tiny_model), tmp_path / "w.duckdb"


def write_project(tmp_path, tiny_model):
    """Seeds, general data, a template and a recipe (the scripted teacher, the tiny model) under `tmp_path`."""
    (tmp_path / "seeds.jsonl").write_text("\n".join(json.dumps(s) for s in SEEDS))
    (tmp_path / "general.jsonl").write_text("\n".join(
        json.dumps({"id": f"g{i}", "prompt": f"Say {i}.", "response": f"{i}."}) for i in range(5)))
    (tmp_path / "math.j2").write_text("{{ question }}")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""
name: e2e
seeds: [{tmp_path / 'seeds.jsonl'}]
templates: {{math: {tmp_path / 'math.j2'}}}
teacher: {{backend: scripted, model: {tiny_model}, n: 2, batch_size: 3}}
curate: {{max_per_prompt: 2}}
snapshot: {{general: {tmp_path / 'general.jsonl'}, general_ratio: "2:3"}}
train: {{base_model: {tiny_model}, max_steps: 2, batch_size: 2, lora_r: 4, output_root: {tmp_path / 'runs'}}}
eval: {{max_tokens: 4}}
""")
    return recipe


LINEAGE = """
    SELECT e.role, tr.training_run_id, s.name AS snapshot, g.generation_id, sd.seed_id, sd.source_line,
           t.template_id, te.backend, r.flow, r.status, r.prefect_flow_run_id
    FROM evaluations e
    JOIN training_runs tr USING (training_run_id)
    JOIN snapshots s USING (snapshot_id)
    JOIN snapshot_rows sr USING (snapshot_id)
    JOIN generations g USING (generation_id)
    JOIN prompts p ON p.prompt_id = g.prompt_id
    JOIN seeds sd ON sd.seed_id = p.seed_id
    JOIN templates t ON t.template_id = p.template_id
    JOIN teachers te ON te.teacher_id = g.teacher_id
    JOIN runs r ON r.run_id = g.run_id
    WHERE e.role = 'student'
    ORDER BY sd.seed_id
"""


def test_factory_end_to_end_links_every_table(prefect_api, project):
    from flows.factory import factory
    from warehouse.db import Warehouse

    recipe, db = project
    summary = factory(recipe=str(recipe), warehouse=str(db))
    wh = Warehouse(db)
    counts = {t: wh.scalar(f"SELECT count(*) FROM {t}") for t in
              ("seeds", "templates", "prompts", "teachers", "generations", "verifications", "curated",
               "rejections", "snapshots", "snapshot_rows", "training_runs", "evaluations", "evaluation_items")}
    assert counts == {"seeds": 6, "templates": 1, "prompts": 6, "teachers": 1, "generations": 8,
                      "verifications": 8, "curated": 3, "rejections": 5, "snapshots": 1, "snapshot_rows": 5,
                      "training_runs": 1, "evaluations": 3, "evaluation_items": 6}
    reasons = {r["reason"]: r["n"] for r in wh.query("SELECT reason, count(*) AS n FROM rejections GROUP BY 1")}
    assert reasons == {"not_verified": 5}
    lineage = wh.query(LINEAGE)
    assert [r["seed_id"] for r in lineage] == ["a1", "a2", "a3"], "only verified train seeds reach training"
    assert {r["backend"] for r in lineage} == {"scripted"}
    assert {(r["flow"], r["status"]) for r in lineage} == {("factory", "completed")}
    assert all(r["prefect_flow_run_id"] == summary["run_id"] for r in lineage)
    acc = {e["role"]: e["accuracy"] for e in summary["eval"]}
    assert acc["teacher"] == 1.0 and set(acc) == {"base", "student", "teacher"}
    assert summary["snapshot"]["n_general"] == 2  # 3 distilled rows at 2:3


def test_rerun_requests_nothing_twice_and_duplicates_nothing(prefect_api, project):
    from flows.factory import factory
    from warehouse.db import Warehouse

    recipe, db = project
    factory(recipe=str(recipe), warehouse=str(db))
    asked = len(ScriptedTeacher.history)
    assert asked == 8 + 2, "8 train generations, then the teacher's greedy pass over 2 eval prompts"
    wh = Warehouse(db)
    tables = ("generations", "verifications", "curated", "rejections", "snapshots", "snapshot_rows",
              "training_runs", "evaluations", "evaluation_items")
    before = {t: wh.scalar(f"SELECT count(*) FROM {t}") for t in tables}
    second = factory(recipe=str(recipe), warehouse=str(db))
    assert len(ScriptedTeacher.history) == asked, "a rerun asks the teacher nothing"
    assert {k: second["generate"][k] for k in ("requested", "stored", "failed")} == \
        {"requested": 0, "stored": 0, "failed": 0}
    assert second["recovered"] == {}
    assert second["train"]["reused"] is True
    assert {t: wh.scalar(f"SELECT count(*) FROM {t}") for t in tables} == before
    assert [r["status"] for r in wh.query("SELECT status FROM runs ORDER BY started_at")] == ["completed"] * 2


def test_bad_input_stops_before_anything_is_written(prefect_api, project):
    from flows.factory import factory

    recipe, db = project
    seeds = recipe.parent / "seeds.jsonl"
    seeds.write_text(seeds.read_text() + '\n{"id": "bad", "domain": "physics", "question": "Why?"}')
    with pytest.raises(InputError) as err:
        factory(recipe=str(recipe), warehouse=str(db))
    assert err.value.line == 7 and "unknown domain 'physics'" in str(err.value)
    assert not db.exists(), "validation happens before the warehouse is even created"
    assert ScriptedTeacher.history == []


def test_scheduled_refresh_only_asks_for_new_seeds(prefect_api, project):
    from flows.factory import refresh
    from warehouse.db import Warehouse

    recipe, db = project
    first = refresh(recipe=str(recipe), warehouse=str(db))
    assert first["generate"]["requested"] == 8 and first["curate"]["kept"] == 3
    seeds = recipe.parent / "seeds.jsonl"
    seeds.write_text(seeds.read_text() + '\n{"id": "a5", "domain": "math", "question": "What is 2 + 3?", '
                                          '"answer": "5", "note": "same text, new seed"}')
    ScriptedTeacher.history = []
    second = refresh(recipe=str(recipe), warehouse=str(db))
    assert [r.prompt for r in ScriptedTeacher.history] == ["What is 2 + 3?"] * 2
    assert second["generate"]["requested"] == 2
    # same text as a1, same answers: the verified sample duplicates the row kept by the first run
    assert second["curate"] == {"considered": 2, "kept": 0, "rejected": {"not_verified": 1, "near_duplicate": 1}}
    assert Warehouse(db).scalar("SELECT count(*) FROM runs WHERE flow = 'refresh' AND status = 'completed'") == 2


def test_factory_trains_every_student_on_one_snapshot_and_evaluates_them_side_by_side(prefect_api, project):
    from flows.factory import factory
    from warehouse.db import Warehouse

    recipe, db = project
    recipe.write_text(recipe.read_text() + "students:\n  - {method: kd, alpha: 1.0}\n")
    summary = factory(recipe=str(recipe), warehouse=str(db))
    trained = summary["trained"]
    assert [t["config"]["method"] for t in trained] == ["sft", "kd"]
    assert len({t["training_run_id"] for t in trained}) == 2
    wh = Warehouse(db)
    runs = wh.query("SELECT DISTINCT snapshot_id FROM training_runs")
    assert len(runs) == 1, "both students train on the one snapshot"
    roles = [e["role"] for e in summary["eval"]]
    assert roles == ["base", "student:sft", "student:kd", "teacher"]
    by_role = {e["role"]: e for e in summary["eval"]}
    assert by_role["student:kd"]["training_run_id"] == trained[1]["training_run_id"]
    for role in ("student:sft", "student:kd"):
        assert "p_vs_base" in by_role[role]["metrics"] and "retention" in by_role[role]["metrics"]
