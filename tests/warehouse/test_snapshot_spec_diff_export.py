"""Snapshot spec filters, hashing and immutability, diff, export (Parquet + datasets + manifest), CLI smoke.

Rows are built with the warehouse's own insert helper on a real DuckDB file; curated rows are
inserted directly so these tests do not depend on curation's heuristics.
"""

import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from curation.snapshot import create_snapshot
from warehouse.snapshot_spec import SnapshotSpec
from warehouse.snapshots import SnapshotError, content_hash, diff_snapshots, export_snapshot, snapshot_rows

ROOT = Path(__file__).resolve().parents[2]


def add_teacher(wh, teacher_id, model, con=None):
    wh.insert("teachers", [{"teacher_id": teacher_id, "backend": "openai", "model": model, "params": {},
                            "created_at": datetime(2025, 1, 1)}], con=con)


def add_template(wh, template_id, con=None):
    name = template_id.split("@")[0]
    wh.insert("templates", [{"template_id": template_id, "name": name, "domain": name, "version": "1",
                             "body": "{{ question }}", "source_file": f"{name}.j2",
                             "created_at": datetime(2025, 1, 1)}], con=con)


def add_prompt(wh, pid, domain, template_id, split="train", agreement=None, con=None):
    wh.insert("prompts", [{"prompt_id": pid, "seed_id": f"s-{pid}", "template_id": template_id, "domain": domain,
                           "split": split, "text": f"question {pid}", "reference": "5", "run_id": "r",
                           "created_at": datetime(2025, 1, 1)}], con=con)
    if agreement is not None:  # a synthesized problem's self-consistency label
        wh.insert("problem_labels", [{"prompt_id": pid, "method": "self_consistency", "label": "5",
                                      "agreement": agreement, "votes": 3, "samples": 5, "accepted": True,
                                      "min_agreement": 0.5, "groups": {}, "run_id": "r",
                                      "created_at": datetime(2025, 1, 1)}], con=con)


def add_curated(wh, gid, pid, teacher_id, created_at, passed=True, con=None):
    wh.insert("generations", [{"generation_id": gid, "prompt_id": pid, "teacher_id": teacher_id, "sample_index": 0,
                               "raw": f"work {gid}\nThe answer is \\boxed{{5}}.", "reasoning": f"work {gid}",
                               "answer": "The answer is \\boxed{5}.", "finish_reason": "stop", "prompt_tokens": 3,
                               "completion_tokens": 10, "latency_s": 0.1, "cost_usd": 0.0, "run_id": "r",
                               "created_at": created_at}], con=con)
    wh.insert("verifications", [{"verification_id": f"v-{gid}", "generation_id": gid, "verifier": "math",
                                 "version": "1", "passed": passed, "reason": "correct" if passed else "wrong",
                                 "extracted": "5", "details": {}, "duration_s": 0.0, "run_id": "r",
                                 "created_at": created_at}], con=con)
    wh.insert("curated", [{"generation_id": gid, "prompt_id": pid, "content_hash": f"h-{gid}", "run_id": "r",
                           "created_at": created_at}], con=con)


@pytest.fixture
def factory_wh(wh, tmp_path):
    """Two teachers, two versions of the math template and one code template, two synthesized problems."""
    with wh.connect() as con:  # one connection: fast setup
        add_teacher(wh, "tA", "model-a", con=con)
        add_teacher(wh, "tB", "model-b", con=con)
        for t in ("math@v1", "math@v2", "code@v1"):
            add_template(wh, t, con=con)
        add_prompt(wh, "pm1", "math", "math@v1", con=con)
        add_prompt(wh, "pm2", "math", "math@v2", con=con)
        add_prompt(wh, "pc1", "code", "code@v1", con=con)
        add_prompt(wh, "ps1", "math", "math@v1", agreement=0.6, con=con)
        add_prompt(wh, "ps2", "math", "math@v1", agreement=0.9, con=con)
        add_prompt(wh, "pe", "math", "math@v1", split="eval", con=con)
        add_curated(wh, "g-m1", "pm1", "tA", datetime(2025, 1, 10, 9), con=con)
        add_curated(wh, "g-m2", "pm2", "tB", datetime(2025, 2, 10, 12), con=con)
        add_curated(wh, "g-c1", "pc1", "tA", datetime(2025, 3, 10, 9), con=con)
        add_curated(wh, "g-s1", "ps1", "tB", datetime(2025, 1, 20, 9), con=con)
        add_curated(wh, "g-s2", "ps2", "tA", datetime(2025, 2, 20, 9), con=con)
        add_curated(wh, "g-unv", "pm1", "tA", datetime(2025, 1, 15, 9), passed=False, con=con)  # verdict failed
        add_curated(wh, "g-eval", "pe", "tA", datetime(2025, 1, 15, 9), con=con)  # an eval prompt is never taken
    general = tmp_path / "general.jsonl"
    general.write_text("\n".join(json.dumps({"id": f"gen-{i}", "prompt": f"say {i}", "response": f"{i}"})
                                 for i in range(10)))
    return wh, str(general)


def selected(wh, **filters) -> set[str]:
    name = "s-" + str(abs(hash(json.dumps(filters, sort_keys=True, default=str))))
    snap = create_snapshot(wh, SnapshotSpec(name=name, **filters), run_id="r")
    return {r["generation_id"] for r in snapshot_rows(wh, snap["snapshot_id"])}


ALL = {"g-m1", "g-m2", "g-c1", "g-s1", "g-s2"}


@pytest.mark.parametrize("filters, expected", [
    ({}, ALL),
    ({"verified_only": False}, ALL | {"g-unv"}),
    ({"domains": ["code"]}, {"g-c1"}),
    ({"domains": "math"}, ALL - {"g-c1"}),  # a single string is a one-item list
    ({"templates": ["math"]}, {"g-m1", "g-m2", "g-s1", "g-s2"}),  # a name: every version
    ({"templates": ["math@v2"]}, {"g-m2"}),  # an id: that version only
    ({"templates": ["code", "math@v2"]}, {"g-c1", "g-m2"}),
    ({"teachers": ["model-b"]}, {"g-m2", "g-s1"}),  # a model name
    ({"teachers": ["tA"]}, {"g-m1", "g-c1", "g-s2"}),  # a teacher id
    ({"since": "2025-02-01"}, {"g-m2", "g-c1", "g-s2"}),
    ({"until": "2025-02-10"}, {"g-m1", "g-s1", "g-m2"}),  # a bare date includes that whole day
    ({"until": "2025-02-10T10:00:00"}, {"g-m1", "g-s1"}),
    ({"since": "2025-01-15", "until": "2025-02-28"}, {"g-s1", "g-m2", "g-s2"}),
    ({"min_agreement": 0.8}, ALL - {"g-s1"}),
    ({"min_agreement": 0.95}, {"g-m1", "g-m2", "g-c1"}),  # unlabelled seed problems count as 1.0
    ({"teachers": ["model-a"], "domains": ["math"], "min_agreement": 0.5}, {"g-m1", "g-s2"}),
])
def test_each_filter_narrows_the_selection(factory_wh, filters, expected):
    wh, _ = factory_wh
    assert selected(wh, **filters) == expected


def test_a_spec_matching_nothing_is_refused(factory_wh):
    wh, _ = factory_wh
    for filters in ({"teachers": ["nobody"]}, {"since": "2030-01-01"}, {"domains": []}):
        with pytest.raises(SnapshotError, match="no curated rows match"):
            create_snapshot(wh, SnapshotSpec(name="empty", **filters), run_id="r")
    assert wh.scalar("SELECT count(*) FROM snapshots") == 0


def test_bad_spec_values_are_refused():
    for bad, message in [({"since": "last week"}, "ISO date"), ({"since": "2025-03-01", "until": "2025-02-01"},
                                                                 "after until"),
                         ({"min_agreement": 1.5}, "between 0 and 1"), ({"verified_only": "yes"}, "true or false"),
                         ({"general_ratio": "2"}, "1:2")]:
        with pytest.raises(ValueError, match=message):
            SnapshotSpec(**bad)


def test_recipe_sections_old_and_new_still_parse():
    for recipe in sorted((ROOT / "recipes").glob("*.yaml")):
        section = yaml.safe_load(recipe.read_text()).get("snapshot")
        if section is None:  # an eval-only recipe (humaneval, gsm8k) takes no snapshot
            continue
        assert SnapshotSpec(**section).verified_only is True  # old recipes: no filter is on
    # YAML reads an unquoted date as a date: it is stored as the ISO string
    spec = SnapshotSpec(**yaml.safe_load("since: 2025-02-01\nuntil: 2025-02-28\ntemplates: math\n"
                                         "teachers: [model-a]\nmin_agreement: 0.8\nverified_only: false\n"))
    assert (spec.since, spec.until, spec.templates, spec.min_agreement) == ("2025-02-01", "2025-02-28", ["math"], 0.8)
    json.dumps(spec.to_dict())  # a Prefect flow parameter and the recorded spec: JSON-serialisable


def test_spec_counts_and_hash_are_recorded_same_spec_same_hash_names_immutable(factory_wh):
    wh, general = factory_wh
    spec = SnapshotSpec(name="s1", general=general, general_ratio="1:2", teachers=["model-a"], seed=3)
    first = create_snapshot(wh, spec, run_id="r")
    assert (first["n_distilled"], first["n_general"], first["created"]) == (3, 1, True)
    recorded = wh.query("SELECT * FROM snapshots WHERE name = 's1'")[0]
    assert json.loads(recorded["spec"]) == spec.to_dict()
    assert json.loads(recorded["spec"])["teachers"] == ["model-a"]
    assert recorded["content_hash"] == content_hash(snapshot_rows(wh, first["snapshot_id"]))

    again = create_snapshot(wh, spec, run_id="r2")
    assert again["created"] is False and again["content_hash"] == first["content_hash"]
    twin = create_snapshot(wh, SnapshotSpec(**{**spec.to_dict(), "name": "s2"}), run_id="r")
    assert twin["content_hash"] == first["content_hash"] and twin["snapshot_id"] != first["snapshot_id"]

    with pytest.raises(SnapshotError, match="already exists with different content"):
        create_snapshot(wh, SnapshotSpec(**{**spec.to_dict(), "teachers": ["model-b"]}), run_id="r")
    assert wh.scalar("SELECT count(*) FROM snapshots") == 2
    assert [r["generation_id"] for r in snapshot_rows(wh, first["snapshot_id"])] == \
        [r["generation_id"] for r in snapshot_rows(wh, twin["snapshot_id"])]  # s1 untouched


def test_diff_reports_added_removed_and_composition(factory_wh):
    wh, general = factory_wh
    create_snapshot(wh, SnapshotSpec(name="a", teachers=["model-a"], general=general, general_ratio="0:1"),
                    run_id="r")
    b = create_snapshot(wh, SnapshotSpec(name="b", domains=["math"], general=general, general_ratio="1:4"),
                        run_id="r")
    general_id = [r["general_id"] for r in snapshot_rows(wh, b["snapshot_id"]) if r["kind"] == "general"]
    assert len(general_id) == 1

    d = diff_snapshots(wh, "a", "b")
    assert d["same_content"] is False
    assert {(r["kind"], r["key"]) for r in d["added"]} == {("distilled", "g-m2"), ("distilled", "g-s1"),
                                                           ("general", general_id[0])}
    assert [(r["kind"], r["key"]) for r in d["removed"]] == [("distilled", "g-c1")]
    assert (d["changed"], d["unchanged"]) == ([], 2)
    table = {dim: {c["value"]: (c["a"], c["b"], c["change"]) for c in rows} for dim, rows in d["composition"].items()}
    assert table == {
        "kind": {"distilled": (3, 4, 1), "general": (0, 1, 1)},
        "domain": {"code": (1, 0, -1), "math": (2, 4, 2), "general": (0, 1, 1)},
        "template": {"code@v1": (1, 0, -1), "math@v1": (2, 3, 1), "math@v2": (0, 1, 1), "general": (0, 1, 1)},
        "teacher": {"model-a": (3, 2, -1), "model-b": (0, 2, 2), "general": (0, 1, 1)},
    }
    backwards = diff_snapshots(wh, "b", "a")
    assert {r["key"] for r in backwards["removed"]} == {r["key"] for r in d["added"]}
    same = diff_snapshots(wh, "a", "a")
    assert same["same_content"] and not same["added"] and not same["removed"] and same["unchanged"] == 3
    with pytest.raises(SnapshotError, match="no snapshot named 'zzz'"):
        diff_snapshots(wh, "a", "zzz")


def test_export_round_trips_through_parquet_and_datasets(factory_wh, tmp_path):
    import pyarrow.parquet as pq
    from datasets import load_dataset

    wh, general = factory_wh
    snap = create_snapshot(wh, SnapshotSpec(name="exp", general=general, general_ratio="1:2", seed=1), run_id="r")
    out = tmp_path / "export"
    manifest = export_snapshot(wh, "exp", out)
    expected = snapshot_rows(wh, snap["snapshot_id"])
    core = ("row_index", "kind", "prompt", "completion", "generation_id", "general_id")

    parquet = [{**r, "prompt": r["prompt"][0]["content"], "completion": r["completion"][0]["content"]}
               for r in pq.read_table(out / "exp" / "data" / "train-00000-of-00001.parquet").to_pylist()]
    on_disk = [{**r, "prompt": r["prompt"][0]["content"], "completion": r["completion"][0]["content"]}
               for r in load_dataset(str(out / "exp"), split="train").to_list()]
    for rows in (parquet, on_disk):
        assert [{k: r[k] for k in core} for r in rows] == [{k: r[k] for k in core} for r in expected]
        lineage = {r["generation_id"]: r for r in rows if r["kind"] == "distilled"}
        assert {k: lineage["g-m2"][k] for k in ("prompt_id", "seed_id", "domain", "template_id", "teacher_id")} == \
            {"prompt_id": "pm2", "seed_id": "s-pm2", "domain": "math", "template_id": "math@v2", "teacher_id": "tB"}
        assert all(r["prompt_id"] is None and r["teacher_id"] is None and r["domain"] == "general"
                   for r in rows if r["kind"] == "general")
    assert content_hash(parquet) == snap["content_hash"]

    written = json.loads((out / "exp.json").read_text())
    assert written == json.loads(json.dumps(manifest, default=str))
    assert (written["content_hash"], written["n_distilled"], written["n_general"], written["n_rows"]) == \
        (snap["content_hash"], 5, 2, 7)
    assert written["spec"]["general_ratio"] == "1:2" and written["pushed_to"] is None
    assert written["composition"]["kind"] == {"distilled": 5, "general": 2}
    export_snapshot(wh, "exp", out)  # exporting again over the same directory is fine
    assert pq.read_table(out / "exp" / "data" / "train-00000-of-00001.parquet").num_rows == 7


def test_push_to_hub_without_network_is_one_clear_error_after_the_local_export(factory_wh, tmp_path):
    wh, _ = factory_wh
    create_snapshot(wh, SnapshotSpec(name="hub"), run_id="r")
    with pytest.raises(SnapshotError) as info:
        export_snapshot(wh, "hub", tmp_path / "out", push_to_hub="distillery-test/hub-snapshot")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("could not push snapshot 'hub' to the Hub as 'distillery-test/hub-snapshot': ")
    assert "the Hugging Face Hub is unreachable (no network?)" in message  # this machine is offline
    assert "the local export in" in message
    assert (tmp_path / "out" / "hub" / "data" / "train-00000-of-00001.parquet").exists()
    assert json.loads((tmp_path / "out" / "hub.json").read_text())["pushed_to"] is None


# --- CLI --------------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_create_with_filters_then_diff_and_export(factory_wh, tmp_path, prefect_api):
    from flows.cli import app

    wh, general = factory_wh
    result = runner.invoke(app, ["snapshot", "create", "only-a", "-w", wh.path, "--general", general,
                                 "--ratio", "0:1", "--teacher", "model-a", "--template", "math",
                                 "--since", "2025-01-01", "--until", "2025-02-28", "--min-agreement", "0.5"])
    assert result.exit_code == 0, result.output
    assert "snapshot only-a created: 2 distilled + 0 general rows" in result.output
    spec = json.loads(wh.query("SELECT spec FROM snapshots WHERE name = 'only-a'")[0]["spec"])
    assert (spec["teachers"], spec["templates"], spec["min_agreement"], spec["verified_only"]) == \
        (["model-a"], ["math"], 0.5, True)
    result = runner.invoke(app, ["snapshot", "create", "all", "-w", wh.path, "--general", general, "--ratio", "0:1",
                                 "--no-verified-only"])
    assert result.exit_code == 0, result.output
    assert "6 distilled" in result.output

    result = runner.invoke(app, ["snapshot", "diff", "only-a", "all", "-w", wh.path, "--format", "json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert {r["key"] for r in d["added"]} == {"g-m2", "g-c1", "g-s1", "g-unv"} and d["removed"] == []
    result = runner.invoke(app, ["snapshot", "diff", "only-a", "all", "-w", wh.path])
    assert result.exit_code == 0, result.output
    assert "4 added, 0 removed" in result.output and "composition per teacher" in result.output

    result = runner.invoke(app, ["snapshot", "export", "all", "--out", str(tmp_path / "x"), "-w", wh.path])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x" / "all" / "README.md").exists() and "6 rows" in result.output

    result = runner.invoke(app, ["snapshot", "export", "all", "--out", str(tmp_path / "y"), "-w", wh.path,
                                 "--push-to-hub", "distillery-test/all"])
    assert result.exit_code == 2
    assert "error: could not push snapshot 'all'" in result.output and "Traceback" not in result.output

    result = runner.invoke(app, ["snapshot", "create", "bad", "-w", wh.path, "--since", "yesterday"])
    assert result.exit_code == 2 and "ISO date" in result.output
