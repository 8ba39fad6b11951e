"""White-box top-k logit distillation (`kd`): L = α·T²·KD(teacher top-k + tail ‖ student) + (1 − α)·CE.

Alignment. The KD target must be the teacher's distribution over exactly the tokens the student trains
on, but curation rewrites the teacher's raw text into the training target, so logprobs recorded during
generation (`generation_logprobs`: token strings over the raw text) do not line up with it. Here the
local teacher (transformers, `resolve_model(teacher_model)`) is run forward over the very batch the
student trains on — the snapshot row's prompt + completion as the student's chat template tokenised it,
after TRL's truncation and padding — and its top-k next-token logprobs are taken at the completion
positions. Teacher and student thus see the same token ids by construction, the rewritten target is
covered, and a tokenizer mismatch is the only way to misalign them, which `check_same_vocab` refuses
before any step.

On the fly, not precomputed. The frozen teacher is held by the trainer and its top-k computed inside
`compute_loss` (one no-grad forward per batch), instead of precomputed once into extra dataset columns
that TRL's collator would have to carry (`remove_unused_columns=False` plus a collator that pads ragged
[L, k] lists). Why: always aligned (even after truncation), no collator code, no cache to invalidate when
the teacher changes; the cost is one teacher forward per step and per epoch, which for a 135M teacher on
CPU is a fraction of the student's forward + backward (README "Training methods" has the measured step
times). The loss itself (`kd_loss.topk_kd_loss`) only ever sees top-k ids and T = 1 logprobs, so the
later offline path of issue 13 — top-k captured at generation time by vLLM / OpenAI-compatible / API
teachers, stored in the warehouse and carried as columns — reuses it unchanged. NOTE: that offline
capture, and the count of snapshot rows without logprobs it needs, are not built yet.

Built on TRL's SFTTrainer (a subclass overriding `compute_loss`), so LoRA (peft), accelerate, gradient
accumulation and checkpoints work as for `sft`; CE is on completion tokens only (TRL's completion-only
labels) and KD on the same positions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generators.local_models import resolve_model, vocab_fingerprint
from training.config import TrainConfig
from training.methods.kd_loss import combine, topk_kd_loss
from training.methods.sft import lora_config, train_and_save, trainer_args


@dataclass(frozen=True)
class KDConfig(TrainConfig):
    method: str = field(default="kd", metadata={
        "help": "kd: top-k logit distillation from a local teacher sharing the student's tokenizer, mixed with CE"})
    temperature: float = field(default=2.0, metadata={
        "help": "softening temperature T in [1, 10] for both distributions; the KD term is scaled by T²"})
    alpha: float = field(default=0.5, metadata={
        "help": "weight of the KD term in [0, 1] (1 - alpha goes to CE on the text); 1 = pure KD, 0 = SFT"})
    top_k: int = field(default=20, metadata={
        "help": "teacher tokens kept per position; the rest of its mass is one tail bucket"})
    beta: float = field(default=0.0, metadata={
        "help": "generalized JSD in [0, 1]: 0 = forward KL (classic KD), 1 = reverse KL (MiniLLM), between = mixture"})
    teacher_model: str | None = field(default=None, metadata={
        "help": "local teacher: embedded name or checkpoint dir (null = base_model); must share the tokenizer"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method != "kd":
            raise ValueError(f"KDConfig is for method 'kd', got {self.method!r}")
        if not 1.0 <= self.temperature <= 10.0:
            raise ValueError(f"temperature must be in [1, 10], got {self.temperature}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {self.beta}")
        if self.teacher_model is None:
            # Resolved here so the run's identity (training_runs.config) names the teacher it used.
            object.__setattr__(self, "teacher_model", self.base_model)


def check_same_vocab(teacher: str, teacher_tokenizer: Any, student: str, student_tokenizer: Any) -> None:
    """Refuse (ValueError, one line) a teacher whose vocabulary differs from the student's: KD compares
    distributions id by id, so different vocabularies would silently teach the wrong tokens."""
    t_size, t_hash = vocab_fingerprint(teacher_tokenizer)
    s_size, s_hash = vocab_fingerprint(student_tokenizer)
    if (t_size, t_hash) != (s_size, s_hash):
        raise ValueError(f"kd needs one vocabulary: teacher {teacher} has {t_size:,} tokens (vocab {t_hash}), "
                         f"student {student} has {s_size:,} tokens (vocab {s_hash}); use a teacher with the "
                         "student's tokenizer, or method sft")


def fit(dataset, cfg: KDConfig, output_dir: Path) -> dict:
    """Check the vocabularies, then train on `dataset` with the KD + CE loss; save to `output_dir/final`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    student_path, teacher_path = resolve_model(cfg.base_model), resolve_model(str(cfg.teacher_model))
    check_same_vocab(str(cfg.teacher_model), AutoTokenizer.from_pretrained(teacher_path),
                     cfg.base_model, AutoTokenizer.from_pretrained(student_path))
    teacher = AutoModelForCausalLM.from_pretrained(teacher_path, dtype=torch.float32).eval().requires_grad_(False)
    trainer = _trainer_class()(teacher=teacher, kd=cfg, model=str(student_path), args=trainer_args(cfg, output_dir),
                               train_dataset=dataset, peft_config=lora_config(cfg) if cfg.lora else None)
    result = train_and_save(trainer, output_dir, len(dataset))
    history, seconds = result["log_history"], result["train_seconds"]
    return {**result, "kd_loss": _last(history, "kd_loss"), "ce_loss": _last(history, "ce_loss"),
            "train_tokens": trainer.kd_tokens, "tokens_per_second": trainer.kd_tokens / seconds if seconds else None}

def _last(history: list[dict], key: str) -> float | None:
    return next((entry[key] for entry in reversed(history) if key in entry), None)


@functools.cache
def _trainer_class() -> type:
    """TRL's SFTTrainer with the KD + CE loss; built on first use so importing this module stays light."""
    import torch
    from trl import SFTTrainer

    class KDTrainer(SFTTrainer):
        # compute_loss returns a per-micro-batch mean, so the Trainer divides it by the accumulation steps.
        loss_is_scaled_for_ga = False

        def __init__(self, *args: Any, teacher: Any, kd: KDConfig, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.teacher = teacher.to(self.accelerator.device)
            self.kd = kd
            self.kd_tokens = 0

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            # Full logits are needed (TRL's fused head gives only the label's logprob), but only at completion
            # positions: logits[:, t] predicts labels[:, t + 1], so the mask is the shifted labels.
            labels = inputs["labels"]
            forward = {k: v for k, v in inputs.items() if k != "labels"}
            outputs = model(**forward, use_cache=False)
            mask = labels[:, 1:] != -100
            student = outputs.logits[:, :-1][mask]  # [N, V]
            with torch.no_grad():
                teacher_logits = self.teacher(**forward, use_cache=False).logits[:, :-1][mask]
                # A teacher whose embedding is padded past the shared tokenizer (same vocab, larger matrix).
                teacher_logits = teacher_logits[:, : student.size(-1)].float()
                top_logprobs, top_ids = torch.log_softmax(teacher_logits, dim=-1).topk(self.kd.top_k, dim=-1)
            kd = topk_kd_loss(student, top_ids, top_logprobs, torch.ones_like(top_ids[:, 0], dtype=torch.bool),
                              self.kd.temperature, self.kd.beta)
            ce = torch.nn.functional.cross_entropy(student.float(), labels[:, 1:][mask]) if mask.any() \
                else student.sum() * 0.0
            loss = combine(kd, ce, self.kd.alpha)
            mode = "train" if model.training else "eval"
            self._metrics[mode]["kd_loss"].append(kd.item())
            self._metrics[mode]["ce_loss"].append(ce.item())
            if mode == "train" and "attention_mask" in inputs:
                tokens = int(inputs["attention_mask"].sum().item())
                self.kd_tokens += tokens
                self._total_train_tokens += tokens
                self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
            return (loss, outputs) if return_outputs else loss

    return KDTrainer
