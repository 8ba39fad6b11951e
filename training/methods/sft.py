"""Supervised fine-tuning on the snapshot's text (black-box distillation), with TRL's SFTTrainer.

Rows are prompt/completion conversations, so TRL puts the loss on the assistant
turn only. LoRA (peft) by default.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from generators.local_models import resolve_model
from training.config import TrainConfig


def quiet_library_warnings() -> None:
    """Silence one deprecation that our code cannot fix: peft 0.21.2 (`PeftModel.__init__`, on every LoRA
    trainer) and TRL 1.16.0 (`trl/models/utils.py`, unwrapping a model to generate) read
    `model.is_gradient_checkpointing`, which transformers 5.24 deprecates with a FutureWarning on each read.
    Only that message, only from transformers.modeling_utils: every other warning still shows. Remove once
    peft and TRL read `is_activation_checkpointing`."""
    warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning,
                            module=r"transformers\.modeling_utils")


quiet_library_warnings()  # sft, kd and gkd (which import this module) all build trainers with peft


@dataclass(frozen=True)
class SFTConfig(TrainConfig):
    method: str = field(default="sft", metadata={"help": "sft: cross-entropy on the teacher's verified text"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method != "sft":
            raise ValueError(f"SFTConfig is for method 'sft', got {self.method!r}")


def fit(dataset, cfg: SFTConfig, output_dir: Path, callbacks: tuple = ()) -> dict:
    """Train on `dataset` (prompt/completion messages); save to `output_dir/final`; steps, loss, seconds, log."""
    from trl import SFTTrainer

    quiet_library_warnings()  # again: a caller's warnings.catch_warnings() may have reset the filters
    trainer = SFTTrainer(model=str(resolve_model(cfg.base_model)), args=trainer_args(cfg, output_dir),
                         train_dataset=dataset, peft_config=lora_config(cfg) if cfg.lora else None)
    return train_and_save(trainer, output_dir, len(dataset), callbacks)


def trainer_args(cfg: TrainConfig, output_dir: Path):
    """TRL's SFTConfig from the recipe's shared training fields (every trainer-based method uses these)."""
    import torch
    from trl import SFTConfig as TRLConfig

    return TRLConfig(
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


def train_and_save(trainer, output_dir: Path, examples: int, callbacks: tuple = ()) -> dict:
    """Train, save the model and tokenizer to `output_dir/final`; steps, loss, seconds, examples, log, tokens
    trained on and tokens/s."""
    for callback in callbacks:  # e.g. the train stage's progress reporter (a transformers TrainerCallback)
        trainer.add_callback(callback)
    began = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - began
    final = output_dir / "final"
    trainer.save_model(str(final))
    trainer.processing_class.save_pretrained(str(final))
    # TRL counts the tokens it trains on (attention mask, padding excluded) in every trainer built on SFTTrainer.
    tokens = getattr(trainer, "_total_train_tokens", None)
    return {"steps": out.global_step, "train_loss": out.training_loss, "train_seconds": seconds,
            "examples": examples, "log_history": trainer.state.log_history, "train_tokens": tokens,
            "tokens_per_second": tokens / seconds if tokens and seconds else None}


def lora_config(cfg: TrainConfig):
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=0.0,
                      target_modules="all-linear", task_type="CAUSAL_LM")
