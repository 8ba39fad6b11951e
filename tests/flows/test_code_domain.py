"""Code tasks flow through generation, sandboxed verification and curation like the math ones."""

from __future__ import annotations

import json

from generators.teachers import BACKENDS
from tests.fakes import ScriptedTeacher
from warehouse.db import Warehouse

TASK = {"id": "c1", "domain": "code", "topic": "math", "entry_point": "add",
        "question": "Write a Python function `add(a: int, b: int) -> int` that returns a + b.",
        "answer": json.dumps({"entry_point": "add", "tests": "assert add(1, 2) == 3\nassert add(-1, 1) == 0"})}
RIGHT = "Add them.\n```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"
CHEAT = "```python\nimport os\nos._exit(0)\n```"


def test_code_generations_are_verified_in_the_sandbox_and_curated(tmp_path, prefect_api, monkeypatch):
    from flows.factory import curate_flow, generate_flow

    (tmp_path / "tasks.jsonl").write_text(json.dumps(TASK) + "\n")
    (tmp_path / "code.j2").write_text("{{ question }}")
    prompt = TASK["question"]
    monkeypatch.setitem(BACKENDS, "scripted", lambda cfg: ScriptedTeacher(cfg, {prompt: [RIGHT, WRONG, CHEAT]}))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""name: code-test
seeds: [{tmp_path / 'tasks.jsonl'}]
templates: {{code: {tmp_path / 'code.j2'}}}
teacher: {{backend: scripted, model: none, n: 3}}
curate: {{max_per_prompt: 3}}
""")
    db = tmp_path / "w.duckdb"
    out = generate_flow(str(recipe), str(db))
    assert out["verify"] == {"verified": 3, "passed": 1}
    rows = Warehouse(db).query("""SELECT g.sample_index, v.verifier, v.passed, v.reason, v.details->>'isolation' AS iso
                                  FROM verifications v JOIN generations g USING (generation_id) ORDER BY 1""")
    assert [(r["verifier"], r["passed"], r["reason"]) for r in rows] == [
        ("code", True, "pass"), ("code", False, "fail"), ("code", False, "fail")]
    assert all(r["iso"] for r in rows), "every verdict records its isolation level"
    curate_flow(str(recipe), str(db))
    kept = Warehouse(db).query("SELECT g.raw FROM curated JOIN generations g USING (generation_id)")
    assert [r["raw"] for r in kept] == [RIGHT]

    from flows.factory import snapshot_flow

    snap = snapshot_flow({"name": "code-snap"}, str(db))
    rows = Warehouse(db).query("SELECT completion FROM snapshot_rows WHERE snapshot_id = ?", [snap["snapshot_id"]])
    assert [r["completion"] for r in rows] == [RIGHT], "code trains on the response as written, not a boxed line"
