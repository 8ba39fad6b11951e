import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from curation.curate import curate
from curation.snapshot import create_snapshot
from tests.warehouse.test_curation_and_snapshots import add_generation, add_prompt
from training.methods.sft import SFTConfig
from training.run import train
from warehouse.snapshot_spec import SnapshotSpec


def make_snapshot(wh) -> str:
    for i in range(6):
        add_prompt(wh, f"p{i}")
        add_generation(wh, f"g{i}", f"p{i}", f"{i} + 5 = {i + 5}\nThe answer is \\boxed{{{i + 5}}}.", True,
                       extracted=str(i + 5))
    curate(wh, run_id="r")
    return create_snapshot(wh, SnapshotSpec(name="tiny"), run_id="r")["name"]


def test_full_sft_changes_the_weights_and_records_the_run(wh, tiny_model, tmp_path):
    cfg = SFTConfig(base_model=tiny_model, lora=False, max_steps=3, batch_size=2, learning_rate=1e-2,
                    output_root=str(tmp_path / "runs"))
    result = train(wh, make_snapshot(wh), cfg, run_id="r")
    before = load_file(Path(tiny_model) / "model.safetensors")
    after = load_file(Path(result["output_dir"]) / "model.safetensors")
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) >= len(before) // 2, "most tensors must move after 3 steps at lr 1e-2"
    row = wh.query("SELECT * FROM training_runs")[0]
    assert (row["status"], row["steps"]) == ("completed", 3)
    assert row["train_loss"] > 0
    assert json.loads(row["config"])["lora"] is False
    assert any("loss" in entry for entry in json.loads(row["metrics"])["log_history"])


def test_lora_trains_adapters_and_a_rerun_reuses_the_finished_run(wh, tiny_model, tmp_path):
    cfg = SFTConfig(base_model=tiny_model, lora=True, lora_r=4, max_steps=2, batch_size=2,
                    output_root=str(tmp_path / "runs"))
    snapshot = make_snapshot(wh)
    first = train(wh, snapshot, cfg, run_id="r")
    adapter = load_file(Path(first["output_dir"]) / "adapter_model.safetensors")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b), "LoRA B starts at zero; training must move it"
    again = train(wh, snapshot, cfg, run_id="r2")
    assert again["reused"] is True and again["training_run_id"] == first["training_run_id"]
    assert wh.scalar("SELECT count(*) FROM training_runs") == 1
