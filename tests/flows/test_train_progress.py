"""The train stage reports progress while it trains: a log line per logged step and a Prefect progress artifact."""

import logging

from tests.training.test_sft import make_snapshot
from training.methods.sft import SFTConfig


def test_training_inside_a_flow_logs_each_step_and_moves_a_progress_artifact(wh, tiny_model, tmp_path, prefect_api,
                                                                            monkeypatch):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterType

    import flows.train
    from flows.train import train

    # the run logger ships records to the Prefect API; a plain logger with its own handler keeps the messages here
    # (Prefect reconfigures the root logger when a flow starts, so pytest's caplog handler would not see them)
    seen: list[str] = []
    logger = logging.getLogger("distillery.test-train-progress")
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    monkeypatch.setattr(flows.train, "get_run_logger", lambda: logger)

    snapshot = make_snapshot(wh)
    cfg = SFTConfig(base_model=tiny_model, max_steps=2, batch_size=2, lora_r=4, output_root=str(tmp_path / "runs"))

    @flow
    def training() -> tuple[dict, str]:
        from prefect.context import FlowRunContext

        return train(wh, snapshot, cfg, run_id="r"), str(FlowRunContext.get().flow_run.id)

    result, flow_run_id = training()
    assert result["steps"] == 2, result
    steps = [m for m in seen if "train sft: step" in m]
    assert steps and steps[0].startswith("train sft: step 1/2, loss "), steps
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(
            type=ArtifactFilterType(any_=["progress"]), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    assert len(found) == 1 and float(found[0].data) > 0, "the progress artifact moved past 0%"
