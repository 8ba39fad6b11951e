"""`distill report` and the Prefect task: the quality report from the CLI and as a flow's markdown artifact."""

import json

import pytest
from typer.testing import CliRunner

from tests.curation.test_report import build, by_key
from warehouse.quality import quality_report

runner = CliRunner()


def test_cli_report_table_json_and_chart(wh, tmp_path):
    from flows.cli import app

    build(wh)
    chart = tmp_path / "r.svg"
    result = runner.invoke(app, ["report", "-w", wh.path, "--out", str(chart), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads(json.dumps(quality_report(wh)))
    assert chart.stat().st_size > 0
    result = runner.invoke(app, ["report", "-w", wh.path, "--out", str(tmp_path / "t.svg")])
    assert result.exit_code == 0, result.output
    assert "data quality per template" in result.output and "data quality per teacher" in result.output
    assert "80.0%" in result.output and "model-b" in result.output
    result = runner.invoke(app, ["report", "-w", str(tmp_path / "missing.duckdb"), "--out", str(chart)])
    assert result.exit_code == 2 and "distill init" in result.output


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
    assert "| model-b |" in artifact.data
    assert report_task.fn(wh, "run-2") == rows  # outside a flow: same figures, no artifact needed
