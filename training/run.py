"""One training run: a student trained on one snapshot with one method, recorded in `training_runs`.

The run's id is derived from the snapshot and the config, so asking again for a
finished run returns it instead of training twice; its config, steps, loss and
log history go to `training_runs`, its weights to
`<output_root>/<training_run_id>/final`. The method itself (training/methods/)
only trains.
"""

from __future__ import annotations

from pathlib import Path

from training.config import TrainConfig
from training.data import to_dataset
from training.methods import METHODS
from warehouse import training_runs
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id
from warehouse.snapshots import get_snapshot, snapshot_rows


def train(wh: Warehouse, snapshot: str, cfg: TrainConfig, run_id: str, callbacks: tuple = ()) -> dict:
    """Train (or reuse) the run of `cfg` on `snapshot`; `callbacks`: transformers TrainerCallbacks (progress)."""
    snap = get_snapshot(wh, snapshot)
    training_run_id = stable_id(snap["snapshot_id"], cfg.run_key())
    done = training_runs.completed_run(wh, training_run_id)
    if done and Path(done["output_dir"]).exists():
        return {**done, "reused": True}
    output_dir = Path(cfg.output_root) / training_run_id
    record = {"training_run_id": training_run_id, "snapshot_id": snap["snapshot_id"], "base_model": cfg.base_model,
              "config": cfg.identity(), "output_dir": str(output_dir / "final"), "status": "running",
              "run_id": run_id, "started_at": now()}
    training_runs.start_run(wh, record)
    try:
        rows = snapshot_rows(wh, snap["snapshot_id"], with_logprobs=cfg.reads_stored_logprobs)
        result = METHODS[cfg.method].fit(to_dataset(rows), cfg, output_dir, callbacks)
    except BaseException as exc:
        training_runs.fail_run(wh, training_run_id, str(exc))
        raise
    training_runs.complete_run(wh, training_run_id, result)
    return {**record, **result, "status": "completed", "reused": False}
