"""Supervised fine-tuning of a student on one snapshot, with TRL's SFTTrainer.

Rows become prompt/completion conversations, so TRL puts the loss on the
assistant turn only. LoRA (peft) by default. The run's id is derived from the
snapshot and the config, so asking again for a finished run returns it instead
of training twice; its config, steps, loss and log history go to
`training_runs`, its weights to `<output_root>/<training_run_id>/final`.
"""

from __future__ import annotations

import time
from pathlib import Path

from generators.local_models import resolve_model
from training.config import TrainConfig
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id
from warehouse.snapshots import get_snapshot, snapshot_rows


def to_dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": r["prompt"]}],
         "completion": [{"role": "assistant", "content": r["completion"]}]}
        for r in rows
    ])


def train(wh: Warehouse, snapshot: str, cfg: TrainConfig, run_id: str) -> dict:
    snap = get_snapshot(wh, snapshot)
    training_run_id = stable_id(snap["snapshot_id"], cfg.identity())
    done = wh.query("SELECT * FROM training_runs WHERE training_run_id = ? AND status = 'completed'",
                    [training_run_id])
    if done and Path(done[0]["output_dir"]).exists():
        return {**done[0], "reused": True}
    output_dir = Path(cfg.output_root) / training_run_id
    record = {"training_run_id": training_run_id, "snapshot_id": snap["snapshot_id"], "base_model": cfg.base_model,
              "config": cfg.identity(), "output_dir": str(output_dir / "final"), "status": "running",
              "run_id": run_id, "started_at": now()}
    wh.execute("DELETE FROM training_runs WHERE training_run_id = ?", [training_run_id])
    wh.insert("training_runs", [record])
    try:
        result = _fit(to_dataset(snapshot_rows(wh, snap["snapshot_id"])), cfg, output_dir)
    except BaseException as exc:
        wh.execute("UPDATE training_runs SET status = 'failed', metrics = ?, finished_at = now() "
                   "WHERE training_run_id = ?", [_json({"error": str(exc)[:500]}), training_run_id])
        raise
    wh.execute("UPDATE training_runs SET status = 'completed', steps = ?, train_loss = ?, metrics = ?, "
               "finished_at = now() WHERE training_run_id = ?",
               [result["steps"], result["train_loss"], _json(result), training_run_id])
    return {**record, **result, "status": "completed", "reused": False}


def _fit(dataset, cfg: TrainConfig, output_dir: Path) -> dict:
    import torch
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        output_dir=str(output_dir), num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate, per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum, max_length=cfg.max_length, seed=cfg.seed,
        lr_scheduler_type="cosine", warmup_steps=0.05,  # a float < 1 is a ratio of total steps
        logging_steps=5, logging_first_step=True, save_strategy="no",
        report_to="none", bf16=False, fp16=False, use_cpu=not torch.cuda.is_available(),
        # TRL turns activation checkpointing on by default; for a 135M model it only
        # trades ~30% more compute for memory we do not need.
        activation_checkpointing=False,
    )
    trainer = SFTTrainer(model=str(resolve_model(cfg.base_model)), args=args, train_dataset=dataset,
                         peft_config=_lora(cfg) if cfg.lora else None)
    began = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - began
    final = output_dir / "final"
    trainer.save_model(str(final))
    trainer.processing_class.save_pretrained(str(final))
    return {"steps": out.global_step, "train_loss": out.training_loss, "train_seconds": seconds,
            "examples": len(dataset), "log_history": trainer.state.log_history}


def _lora(cfg: TrainConfig):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0,
                      target_modules="all-linear", task_type="CAUSAL_LM")


def _json(value: dict) -> str:
    import json

    return json.dumps(value, default=str)
