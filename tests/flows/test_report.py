"""`distill report` and the Prefect task: the quality report from the CLI and as a flow's markdown artifact."""

import json

import pytest
from typer.testing import CliRunner

from tests.curation.test_report import build, by_key, evaluations, full, second_run, wilson
from warehouse.quality import quality_report, report

runner = CliRunner()


def test_cli_report_table_json_and_chart(wh, tmp_path):
    from flows.cli import app

    full(wh)
    chart = tmp_path / "r.svg"
    result = runner.invoke(app, ["report", "-w", wh.path, "--out", str(chart), "--format", "json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert list(got) == ["quality", "rejections", "trend", "evaluation"]
    assert got == json.loads(json.dumps(report(wh), default=str))
    assert got["quality"] == json.loads(json.dumps(quality_report(wh)))
    local = next(r for r in got["quality"] if r["label"] == "local-m")
    assert (local["priced"], local["cost_per_verified"]) == (False, None)
    assert [(r["stage"], r["reason"], r["count"]) for r in got["rejections"]][:3] == [
        ("verify", "no_answer", 1), ("verify", "wrong", 1), ("curate", "not_verified", 2)]
    assert [(r["run_id"], r["kept"], r["pass_rate"]) for r in got["trend"]] == [("r", 3, 0.75), ("r2", 1, 0.5)]
    assert [(r["role"], r["method"], r["correct"], r["reused"]) for r in got["evaluation"]] == [
        ("base", None, 5, True), ("student", "kd", 12, False), ("student", "sft", 10, False),
        ("teacher", None, 15, True)]
    assert chart.read_text().count("n/a (no price)") == 1
    result = runner.invoke(app, ["report", "-w", wh.path, "--out", str(tmp_path / "t.svg")],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for title in ("data quality per topic", "data quality per template", "data quality per teacher",
                  "rejections by stage and reason", "trend across runs", "latest evaluation"):
        assert title in result.output
    assert "80.0%" in result.output and "model-b" in result.output and "geometry" in result.output
    assert "n/a" in result.output and "no_answer" in result.output
    result = runner.invoke(app, ["report", "-w", str(tmp_path / "missing.duckdb"), "--out", str(chart)])
    assert result.exit_code == 2 and "distill init" in result.output


def test_an_evaluation_stored_without_its_interval_gets_the_wilson_interval(wh):
    from flows.report import report_data

    rows = report_data(evaluations(second_run(build(wh)), ci=False))["evaluation"]
    assert [(r["ci_low"], r["ci_high"]) for r in rows] == [pytest.approx(wilson(c, 20)) for c in (5, 12, 10, 15)]


def test_report_task_publishes_a_markdown_artifact_in_a_flow(wh, tmp_path, prefect_api):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, TaskRunFilter
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.report import ARTIFACT_KEY, artifact_key, report_task

    build(wh)

    @flow
    def reporting(path: str) -> list[dict]:
        return report_task(wh, "run-1", chart_path=path)

    rows = reporting(str(tmp_path / "flow.svg"))
    assert by_key(rows)[("template", "math@v1")]["pass_rate"] == pytest.approx(0.8)
    assert (tmp_path / "flow.svg").stat().st_size > 0
    with get_client(sync_client=True) as client:  # every field given: this server refuses nulls in the filter
        key = artifact_key(ARTIFACT_KEY, wh.path)
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                      flow_run_filter=FlowRunFilter(), task_run_filter=TaskRunFilter(), limit=5,
                                      offset=0, sort=ArtifactSort.UPDATED_DESC)
    artifact = found[0] if found else None
    assert artifact is not None and artifact.type == "markdown"
    assert "Data quality of the whole warehouse" in artifact.data and "(after run run-1)" in artifact.data
    assert "| model-b |" in artifact.data and "## Rejections by stage and reason" in artifact.data
    assert "| verify | wrong | 1 |" in artifact.data and "## Trend across runs" in artifact.data
    assert report_task.fn(wh, "run-2") == rows  # outside a flow: same figures, no artifact needed
