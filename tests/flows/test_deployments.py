"""prefect.yaml's deployments through Prefect's own code: read as `distill serve` reads them (every schedule,
its timezone, the parameters), registered by the real `prefect deploy --all` once `ensure_work_pools` made the
pool, and the artifacts a run leaves (the loss curve, the quality report keyed by warehouse)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generators.seeds import InputError
from tests.conftest import ROOT

SHIPPED = ROOT / "prefect.yaml"
KEY = re.compile(r"^[a-z0-9-]+$")  # what Prefect accepts as an artifact key


def write_yaml(tmp_path: Path, schedules: list[dict]) -> Path:
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump({"deployments": [{
        "name": "refresh-tz", "entrypoint": str(ROOT / "flows/factory.py") + ":refresh",
        "parameters": {"recipe": "quickstart"}, "schedules": schedules, "work_pool": {"name": "pool-a"}}]}))
    return path


def read_artifact(key: str):
    """The latest artifact under `key` (flow-level ones too, which a task-run filter would leave out)."""
    from prefect.artifacts import Artifact

    return Artifact.get(key)


def test_shipped_deployments_cover_snapshot_train_and_evaluate_with_their_parameters():
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.flows import load_flow_from_entrypoint
    from prefect.utilities.callables import parameter_schema

    from flows.deployments import load_deployments, work_pool_names

    PrefectYamlModel.model_validate(yaml.safe_load(SHIPPED.read_text()))  # what `prefect deploy` parses
    deployments = {d.name: d for d in load_deployments(SHIPPED)}
    assert set(deployments) == {"refresh-quickstart", "snapshot-quickstart", "train-quickstart",
                                "evaluate-quickstart"}
    assert {name: d.flow_name for name, d in deployments.items()} == {
        "refresh-quickstart": "refresh", "snapshot-quickstart": "snapshot", "train-quickstart": "train",
        "evaluate-quickstart": "evaluate"}
    assert deployments["snapshot-quickstart"].parameters == {"name": "quickstart-sft", "recipe": "quickstart"}
    assert deployments["train-quickstart"].parameters == {"snapshot_name": "quickstart-sft", "recipe": "quickstart",
                                                          "method": "sft"}
    assert deployments["evaluate-quickstart"].parameters == {"recipe": "quickstart", "training_run_id": None}
    for entry in yaml.safe_load(SHIPPED.read_text())["deployments"]:  # each parameter is one of the flow's own
        flow = load_flow_from_entrypoint(str(ROOT / entry["entrypoint"]))
        assert set(entry["parameters"]) <= set(parameter_schema(flow).properties), entry["name"]
    [refresh] = deployments["refresh-quickstart"].schedules
    assert (refresh.schedule.cron, refresh.schedule.timezone) == ("0 */6 * * *", "UTC")
    assert work_pool_names(SHIPPED) == ["distillery"]


def test_every_schedule_is_kept_with_its_timezone_as_prefect_deploy_reads_it(tmp_path):
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    from flows.deployments import load_deployments, schedule

    schedules = [{"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"},
                 {"cron": "30 22 * * 0", "timezone": "America/New_York", "day_or": False,
                  "parameters": {"recipe": "code"}, "slug": "sunday-code"},
                 {"interval": 3600, "timezone": "Asia/Tokyo", "anchor_date": "2026-01-01T00:00:00+09:00"},
                 {"rrule": "FREQ=WEEKLY;BYDAY=SA", "timezone": "Europe/Berlin", "active": False}]
    path = write_yaml(tmp_path, schedules)
    for entry in schedules:
        # `prefect deploy`'s own reading of the entry, as it sends it to the API
        theirs = DeploymentScheduleCreate(**_schedule_config_to_deployment_schedule(entry))
        assert schedule(entry, path, "refresh-tz") == theirs, entry
    [deployment] = load_deployments(path)  # what `distill serve` serves: all four, each in its own zone
    assert [s.schedule.timezone for s in deployment.schedules] == [s["timezone"] for s in schedules]
    assert [getattr(s.schedule, "cron", None) for s in deployment.schedules] == \
        ["0 9 * * 1-5", "30 22 * * 0", None, None]
    assert [s.active for s in deployment.schedules] == [True, True, True, False]
    assert deployment.schedules[1].parameters == {"recipe": "code"}
    assert deployment.schedules[2].schedule.anchor_date.isoformat() == "2026-01-01T00:00:00+09:00"


@pytest.mark.parametrize("entry, words", [
    ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "unknown timezone"),
    ({"cron": "0 9 * *"}, "cron"),
    ({"cron": "0 9 * * *", "interval": 60}, "exactly one of cron, interval and rrule"),
    ({"cron": "0 9 * * *", "tz": "UTC"}, "unknown keys"),
])
def test_a_bad_schedule_is_one_message_naming_the_deployment(tmp_path, entry, words):
    from flows.deployments import load_deployments

    with pytest.raises(InputError) as exc:
        load_deployments(write_yaml(tmp_path, [entry]))
    assert "refresh-tz" in exc.value.problem and words in exc.value.problem and exc.value.fix


def test_prefect_deploy_all_registers_every_deployment_once_the_pool_exists(prefect_api, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from flows.deployments import ensure_work_pools

    assert ensure_work_pools(SHIPPED) == ["distillery"]
    assert ensure_work_pools(SHIPPED) == [], "a second call finds the pool"
    project = tmp_path / "project"  # a copy of the project root: `prefect deploy` records its folder
    project.mkdir()
    (project / "prefect.yaml").write_text(SHIPPED.read_text())
    (project / "flows").symlink_to(ROOT / "flows")
    prefect = Path(sys.executable).parent / "prefect"
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    out = subprocess.run([str(prefect), "--no-prompt", "deploy", "--all"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    with get_client(sync_client=True) as client:
        registered = {f"{f}/{d}": client.read_deployment_by_name(f"{f}/{d}") for f, d in [
            ("refresh", "refresh-quickstart"), ("snapshot", "snapshot-quickstart"), ("train", "train-quickstart"),
            ("evaluate", "evaluate-quickstart")]}
    assert {d.work_pool_name for d in registered.values()} == {"distillery"}
    assert registered["train/train-quickstart"].parameters == {"snapshot_name": "quickstart-sft",
                                                               "recipe": "quickstart", "method": "sft"}
    [refresh] = registered["refresh/refresh-quickstart"].schedules
    assert (refresh.schedule.cron, refresh.schedule.timezone) == ("0 */6 * * *", "UTC")


def test_training_publishes_its_loss_curve_as_a_table_artifact(prefect_api):
    from prefect import flow

    from flows.train import loss_curve, publish_loss_curve

    history = [{"loss": 2.5, "grad_norm": 1.0, "learning_rate": 1e-4, "epoch": 0.1, "step": 1},
               {"loss": 1.25, "grad_norm": 0.5, "learning_rate": 5e-5, "epoch": 0.5, "step": 5},
               {"train_runtime": 3.0, "train_loss": 1.8, "epoch": 1.0, "step": 8}]  # the summary: no `loss`
    result = {"training_run_id": "0f1e2d3c4b5a6978", "config": {"method": "kd"}, "log_history": history}
    reused = {"training_run_id": "0f1e2d3c4b5a6978", "metrics": '{"log_history": %s}' % str(history).replace(
        "'", '"')}
    assert loss_curve(reused) == loss_curve(result), "a reused run reads its history from `metrics`"

    @flow
    def training() -> str | None:
        return publish_loss_curve(result)

    key = training()
    assert key == "loss-curve-0f1e2d3c4b5a6978" and KEY.match(key)
    artifact = read_artifact(key)
    assert artifact is not None and artifact.type == "table"
    assert [(r["step"], r["loss"]) for r in json.loads(artifact.data)] == [(1, 2.5), (5, 1.25)]
    assert "(kd)" in artifact.description and "2.5000 -> 1.2500, 2 logged steps up to step 5" in artifact.description
    assert publish_loss_curve(result) is None, "outside a flow run nothing is published"


def test_the_quality_artifact_covers_the_whole_warehouse_and_is_keyed_by_it(prefect_api, tmp_path):
    from prefect import flow

    from flows.report import ARTIFACT_KEY, artifact_key, report_task
    from warehouse.db import Warehouse

    warehouses = []
    for folder in ("a", "b"):
        wh = Warehouse(tmp_path / folder / "My Warehouse.duckdb", lock_timeout_s=5)
        wh.init()
        warehouses.append(wh)

    @flow
    def reporting(path: str) -> None:
        report_task(Warehouse(path, lock_timeout_s=5), "run-7")

    keys = [artifact_key(ARTIFACT_KEY, wh.path) for wh in warehouses]
    assert keys[0] != keys[1] and all(KEY.match(k) and "my-warehouse" in k for k in keys)
    assert artifact_key(ARTIFACT_KEY, warehouses[0].path) == keys[0], "stable for the same file"
    for wh in warehouses:
        reporting(wh.path)
    for wh, key in zip(warehouses, keys):
        artifact = read_artifact(key)
        assert artifact is not None and artifact.type == "markdown", key
        assert f"whole warehouse {Path(wh.path).resolve()}" in artifact.data
        assert "not only run run-7" in artifact.description


def test_the_evaluation_table_artifact_has_a_row_per_player_with_its_metrics(prefect_api, tmp_path):
    from prefect import flow

    from flows.report import artifact_key, publish_evaluation_table
    from warehouse.db import Warehouse

    wh = Warehouse(tmp_path / "w.duckdb")
    rows = [{"role": "base", "model": "m", "training_run_id": None, "n": 4, "correct": 1, "accuracy": 0.25,
             "metrics": {"accuracy": 0.25, "general_nll": 2.5}},
            {"role": "student", "model": "m", "training_run_id": "tr1", "n": 4, "correct": 3, "accuracy": 0.75,
             "metrics": {"accuracy": 0.75, "general_nll": 2.6}}]

    @flow
    def evaluating() -> str | None:
        return publish_evaluation_table(wh, rows, "run-9")

    key = evaluating()
    assert key == artifact_key("evaluation", wh.path) and KEY.match(key)
    artifact = read_artifact(key)
    assert artifact.type == "table" and "base 25.0%, student 75.0%" in artifact.description
    assert [(r["role"], r["correct"], r["general_nll"]) for r in json.loads(artifact.data)] == \
        [("base", 1, 2.5), ("student", 3, 2.6)]
