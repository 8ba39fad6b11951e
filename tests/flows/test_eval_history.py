"""`distill eval list | compare | chart`: the evaluation history read back from the tables, with intervals
checked against scipy and McNemar p-values and flips against counts done by hand."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from scipy.stats import binomtest
from typer.testing import CliRunner

from flows.cli import app, starts_prefect

runner = CliRunner()
PROMPTS = [f"p{i}" for i in range(10)]
T0 = datetime(2026, 11, 30, 12, 0)
# which of p0..p9 each contestant got right
RIGHT = {"base": {0, 1, 2}, "sft": {0, 1, 3, 4, 5, 6}, "kd": {0, 1, 2, 3, 4}, "teacher": {0, 1, 2, 3, 4, 5, 6}}


def _evaluation(wh, evaluation_id: str, role: str, right: set[int], minutes: int, training_run_id=None,
                split: str = "eval", prompts=PROMPTS, metrics: dict | None = None) -> None:
    n, correct = len(prompts), sum(i in right for i in range(len(prompts)))
    wh.insert("evaluations", [{
        "evaluation_id": evaluation_id, "role": role, "model": "smollm2" if role != "teacher" else "teacher-m",
        "training_run_id": training_run_id, "teacher_id": None, "split": split, "n": n, "correct": correct,
        "accuracy": correct / n, "mean_latency_s": 1.0, "details": None, "run_id": "r",
        "created_at": T0 + timedelta(minutes=minutes)}])
    wh.insert("evaluation_items", [{"evaluation_id": evaluation_id, "prompt_id": p, "response": "x",
                                    "passed": i in right, "reason": "ok", "extracted": None}
                                   for i, p in enumerate(prompts)])
    wh.insert("evaluation_metrics", [{"evaluation_id": evaluation_id, "metric": k, "value": v, "created_at": T0}
                                     for k, v in (metrics or {}).items()])


@pytest.fixture
def history_wh(wh):
    wh.insert("snapshots", [{"snapshot_id": "snap1", "name": "mix-a", "spec": {}, "n_distilled": 5, "n_general": 1,
                             "content_hash": "h", "run_id": "r", "created_at": T0}])
    wh.insert("training_runs", [
        {"training_run_id": tid, "snapshot_id": "snap1", "base_model": "smollm2", "config": config,
         "output_dir": "/tmp/x", "status": "completed", "run_id": "r", "started_at": T0}
        for tid, config in (("trsft111", {"lora_r": 4}), ("trkd2222", {"method": "kd", "alpha": 0.5}))])
    _evaluation(wh, "ev-base-0001", "base", RIGHT["base"], 1)
    _evaluation(wh, "ev-sft-00002", "student", RIGHT["sft"], 2, "trsft111",
                metrics={"accuracy": 0.6, "retention": 6 / 7, "forgetting_nll_delta": 0.125})
    _evaluation(wh, "ev-kd-000003", "student:kd", RIGHT["kd"], 3, "trkd2222", metrics={"pass_at_4": 0.75})
    _evaluation(wh, "ev-teach-004", "teacher", RIGHT["teacher"], 4)
    _evaluation(wh, "ev-gsm-00005", "base", {0}, 5, split="gsm8k", prompts=["g0", "g1"])
    return wh


def _json(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_shows_every_evaluation_with_method_snapshot_interval_and_its_metrics(history_wh):
    rows = _json(["eval", "list", "-w", history_wh.path, "--format", "json"])
    assert [r["evaluation_id"] for r in rows] == ["ev-base-0001", "ev-sft-00002", "ev-kd-000003", "ev-teach-004",
                                                  "ev-gsm-00005"], "oldest first"
    by_id = {r["evaluation_id"]: r for r in rows}
    assert (by_id["ev-sft-00002"]["method"], by_id["ev-sft-00002"]["snapshot"]) == ("sft", "mix-a"), \
        "a config without `method` is an SFT run"
    assert (by_id["ev-kd-000003"]["method"], by_id["ev-kd-000003"]["role"]) == ("kd", "student:kd")
    assert by_id["ev-base-0001"]["method"] is None and by_id["ev-base-0001"]["snapshot"] is None
    low, high = binomtest(3, 10).proportion_ci(method="wilson")
    assert by_id["ev-base-0001"]["ci_low"] == pytest.approx(low) and by_id["ev-base-0001"]["ci_high"] == \
        pytest.approx(high)
    assert by_id["ev-sft-00002"]["metrics"]["forgetting_nll_delta"] == 0.125
    assert [r["split"] for r in _json(["eval", "list", "-w", history_wh.path, "--format", "json", "--split",
                                       "gsm8k"])] == ["gsm8k"]


def test_list_table_has_a_column_for_each_metric_present(history_wh):
    result = runner.invoke(app, ["eval", "list", "-w", history_wh.path, "--format", "csv"])
    assert result.exit_code == 0, result.output
    header, *lines = result.stdout.splitlines()
    assert header.split(",") == ["when", "evaluation", "role", "model", "method", "snapshot", "split", "n", "correct",
                                 "accuracy", "95% CI", "forgetting_nll_delta", "pass_at_4", "retention"]
    assert lines[0].startswith("2026-11-30 12:01,ev-base-0001,base,smollm2,,,eval,10,3,30.0%,10.8-60.3%,")
    assert lines[1].endswith(",0.125,,0.8571")


def test_compare_two_evaluations_counts_flips_and_gives_the_exact_mcnemar_p(history_wh):
    r = _json(["eval", "compare", "ev-base", "ev-sft", "-w", history_wh.path, "--format", "json"])
    assert (r["a"]["evaluation_id"], r["b"]["evaluation_id"]) == ("ev-base-0001", "ev-sft-00002")
    # base right on p0 p1 p2, sft on p0 p1 p3 p4 p5 p6: p2 flips right -> wrong, p3..p6 wrong -> right
    assert r["shared"] == 10 and r["both_right"] == 2 and r["both_wrong"] == 3
    assert r["right_to_wrong"] == ["p2"] and r["wrong_to_right"] == ["p3", "p4", "p5", "p6"]
    assert r["mcnemar_p"] == pytest.approx(2 * (1 + 5) / 2 ** 5)  # two-sided: 2 * P(X <= 1), X ~ Bin(5, 1/2)
    assert r["b"]["ci_low"] == pytest.approx(binomtest(6, 10).proportion_ci(method="wilson").low)


def test_compare_takes_training_run_ids_and_prints_a_readable_table(history_wh):
    r = _json(["eval", "compare", "trsft", "trkd", "-w", history_wh.path, "--format", "json"])
    assert (r["a"]["evaluation_id"], r["b"]["evaluation_id"]) == ("ev-sft-00002", "ev-kd-000003")
    assert r["right_to_wrong"] == ["p5", "p6"] and r["wrong_to_right"] == ["p2"]
    assert r["mcnemar_p"] == pytest.approx(1.0)
    result = runner.invoke(app, ["eval", "compare", "trsft", "trkd", "-w", history_wh.path])
    assert result.exit_code == 0, result.output
    assert "2 flip right -> wrong from A to B, 1 flip wrong -> right" in result.stdout
    assert "exact McNemar p = 1" in result.stdout


def test_compare_across_splits_pairs_nothing(history_wh):
    r = _json(["eval", "compare", "ev-base", "ev-gsm", "-w", history_wh.path, "--format", "json"])
    assert r["shared"] == 0 and r["mcnemar_p"] is None


@pytest.mark.parametrize("key, words", [("nope", "no evaluation"), ("ev-", "matches 5 evaluations"),
                                        ("tr", "matches 2 training runs")])
def test_compare_refuses_unknown_or_ambiguous_ids_in_one_message(history_wh, key, words):
    result = runner.invoke(app, ["eval", "compare", key, "ev-base", "-w", history_wh.path])
    assert result.exit_code == 2 and words in result.output and "fix:" in result.output, result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_chart_writes_png_or_svg_by_suffix(history_wh, tmp_path, suffix, magic):
    out = tmp_path / f"acc{suffix}"
    result = runner.invoke(app, ["eval", "chart", "--out", str(out), "-w", history_wh.path])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic) and "5 evaluations" in result.stdout
    if suffix == ".svg":
        svg = out.read_text()
        assert "student:kd · smollm2 · kd @ mix-a" in svg and "split gsm8k" in svg
        runner.invoke(app, ["eval", "chart", "--out", str(tmp_path / "again.svg"), "-w", history_wh.path])
        assert (tmp_path / "again.svg").read_text() == svg, "the same history draws the same bytes"


def test_chart_of_an_empty_history_is_one_message(wh, tmp_path):
    result = runner.invoke(app, ["eval", "chart", "--out", str(tmp_path / "a.svg"), "-w", wh.path])
    assert result.exit_code == 2 and "no evaluations recorded" in result.output
    assert not (tmp_path / "a.svg").exists()


def test_eval_without_a_subcommand_still_scores_and_history_needs_no_prefect(tmp_path):
    result = runner.invoke(app, ["eval", "--training-run", "nope", "-w", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "training run 'nope'" in result.output, result.output
    help_text = runner.invoke(app, ["eval", "--help"], env={"COLUMNS": "200"}).stdout
    assert all(w in help_text for w in ("--training-run", "--recipe", "list", "compare", "chart")), help_text
    assert starts_prefect(["eval", "-r", "gsm8k"]) and starts_prefect(["eval"])
    assert not starts_prefect(["eval", "list"]) and not starts_prefect(["snapshot", "list"])
    assert starts_prefect(["snapshot", "create", "x"]) and not starts_prefect(["sql", "SELECT 1"])


def test_distill_eval_still_scores_a_recipe_and_the_history_reads_it_back(tmp_path, tiny_model, monkeypatch,
                                                                          prefect_api):
    from generators.teachers import BACKENDS
    from tests.fakes import ScriptedTeacher
    from tests.flows.test_public_eval import _first, _recipe

    recipe = _recipe(tmp_path, "gsm8k", "math", "examples/templates/math.j2", tiny_model, 3)
    monkeypatch.setitem(BACKENDS, "scripted", None)  # the recipe validates before the script exists
    script = {p.text: [f"The answer is \\boxed{{{p.seed.reference if i < 2 else 'none'}}}."]
              for i, p in enumerate(_first(recipe, 3))}
    monkeypatch.setitem(BACKENDS, "scripted", lambda cfg: ScriptedTeacher(cfg, script))
    db = str(tmp_path / "w.duckdb")
    result = runner.invoke(app, ["eval", "-r", recipe, "-w", db])
    assert result.exit_code == 0, result.output
    assert "evaluation" in result.stdout and "2/3" in result.stdout, "the scoring table, as before"
    rows = {r["role"]: r for r in _json(["eval", "list", "-w", db, "--format", "json"])}
    assert (rows["teacher"]["correct"], rows["teacher"]["n"], rows["teacher"]["split"]) == (2, 3, "gsm8k")
    low, high = binomtest(2, 3).proportion_ci(method="wilson")
    assert (rows["teacher"]["ci_low"], rows["teacher"]["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    pair = _json(["eval", "compare", rows["base"]["evaluation_id"], rows["teacher"]["evaluation_id"], "-w", db,
                  "--format", "json"])
    assert pair["shared"] == 3 and len(pair["wrong_to_right"]) - len(pair["right_to_wrong"]) == \
        2 - rows["base"]["correct"]
