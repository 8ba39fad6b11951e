"""White-box top-k logit distillation (`kd`): L = α·T²·KD(teacher top-k + tail ‖ student) + (1 − α)·CE.

Two sources for the teacher's top-k (`source`): `forward` (default, this module) runs a local teacher over
each training row; `stored` (kd_stored.py) reads the top-k captured when the teacher generated the row, for
teachers that cannot run at training time (an API, a vLLM server). Both feed the same loss and trainer.

Alignment (forward). The KD target must be the teacher's distribution over exactly the tokens the student trains
on, but curation rewrites the teacher's raw text into the training target, so logprobs recorded during
generation (`generation_logprobs`: token strings over the raw text) do not line up with it. Here the
local teacher (transformers, `resolve_model(teacher_model)`) is run forward over the very batch the
student trains on — the snapshot row's prompt + completion as the student's chat template tokenised it,
after TRL's truncation and padding — and its top-k next-token logprobs are taken at the completion
positions. Teacher and student thus see the same token ids by construction, the rewritten target is
covered, and a tokenizer mismatch is the only way to misalign them, which `check_same_vocab` refuses
before any step.

Teacher context (`teacher_few_shot`). The demo's teacher is the base model *shown worked examples*: its
knowledge is the context, not other weights (context distillation). The teacher's forward therefore runs
over the student's very tokens with the few-shot turns inserted after the system block, exactly where the
chat template puts them when the teacher generated the data; the completion tokens keep their ids and
shift by the inserted length, which is constant across the batch, so the alignment stays exact. The
student never sees the turns. `ContextInsert` builds the inserted ids once from the chat template and
checks that inserting them reproduces the template's own rendering of the teacher's conversation.

On the fly, not precomputed. The frozen teacher is held by the trainer and its top-k computed inside
`compute_loss` (one no-grad forward per batch of rows it has not seen; later epochs reuse each row's
top-k, kept in memory by the row's tokens), instead of precomputed once into extra dataset columns
that TRL's collator would have to carry (`remove_unused_columns=False` plus a collator that pads ragged
[L, k] lists). Why: always aligned (even after truncation), no collator code, no cache to invalidate when
the teacher changes; the cost is one teacher forward per step and per epoch, which for a 135M teacher on
CPU is a fraction of the student's forward + backward (README "Training methods" has the measured step
times). The loss itself (`kd_loss.topk_kd_loss`) only ever sees top-k ids and T = 1 logprobs, so the
offline path (`source: stored`, kd_stored.py: top-k captured at generation time by the transformers, vLLM
or OpenAI-compatible teachers, stored in the warehouse and carried as columns) reuses it unchanged.

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
from training.config import LocalTeacherConfig
from training.methods import kd_stored
from training.methods.kd_loss import combine, topk_kd_loss
from training.methods.sft import lora_config, train_and_save, trainer_args


@dataclass(frozen=True)
class KDConfig(LocalTeacherConfig):
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
    source: str = field(default="forward", metadata={
        "help": "where the teacher's top-k comes from: forward = teacher_model run over each training row (local "
                "teacher, the rewritten target); stored = the top-k captured at generation time "
                "(generation_logprobs, any backend that stored token ids), rows train on the teacher's own tokens"})
    missing: str = field(default="refuse", metadata={
        "help": "source stored, a distilled row without stored top-k ids: refuse (stop before training, counting "
                "them) or ce (train it on CE only)"})

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
        if self.source not in ("forward", "stored"):
            raise ValueError(f"kd source must be forward or stored, got {self.source!r}")
        if self.missing not in ("refuse", "ce"):
            raise ValueError(f"kd missing must be refuse or ce, got {self.missing!r}")

    @property
    def reads_stored_logprobs(self) -> bool:
        return self.source == "stored"

    def run_key(self) -> dict:
        """Without the stored-logprobs fields at their forward defaults, so runs recorded before they existed keep
        their ids."""
        values = super().run_key()
        if self.source == "forward":
            values.pop("source")
            values.pop("missing")
        return values


def check_same_vocab(teacher: str, teacher_tokenizer: Any, student: str, student_tokenizer: Any,
                     method: str = "kd") -> None:
    """Refuse (ValueError, one line) a teacher whose vocabulary differs from the student's: KD compares
    distributions id by id, so different vocabularies would silently teach the wrong tokens."""
    t_size, t_hash = vocab_fingerprint(teacher_tokenizer)
    s_size, s_hash = vocab_fingerprint(student_tokenizer)
    if (t_size, t_hash) != (s_size, s_hash):
        raise ValueError(f"{method} needs one vocabulary: teacher {teacher} has {t_size:,} tokens (vocab {t_hash}), "
                         f"student {student} has {s_size:,} tokens (vocab {s_hash}); use a teacher with the "
                         "student's tokenizer, or method sft")


def fit(dataset, cfg: KDConfig, output_dir: Path, callbacks: tuple = ()) -> dict:
    """Check the vocabularies, then train on `dataset` with the KD + CE loss; save to `output_dir/final`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if cfg.source == "stored":
        return _fit_stored(dataset, cfg, output_dir, callbacks)
    student_path, teacher_path = resolve_model(cfg.base_model), resolve_model(str(cfg.teacher_model))
    check_same_vocab(str(cfg.teacher_model), AutoTokenizer.from_pretrained(teacher_path),
                     cfg.base_model, AutoTokenizer.from_pretrained(student_path))
    teacher = AutoModelForCausalLM.from_pretrained(teacher_path, dtype=torch.float32).eval().requires_grad_(False)
    context = ContextInsert.build(AutoTokenizer.from_pretrained(student_path), cfg.teacher_few_shot or ())
    trainer = _trainer_class()(teacher=teacher, kd=cfg, context=context, model=str(student_path),
                               args=trainer_args(cfg, output_dir),
                               train_dataset=dataset, peft_config=lora_config(cfg) if cfg.lora else None)
    return _result(trainer, train_and_save(trainer, output_dir, len(dataset), callbacks))


def _fit_stored(dataset, cfg: KDConfig, output_dir: Path, callbacks: tuple) -> dict:
    """The offline path (kd_stored.py): count and check the stored top-k, train on the teacher's own tokens."""
    from dataclasses import replace

    from transformers import AutoTokenizer
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    student_path = resolve_model(cfg.base_model)
    tokenizer = AutoTokenizer.from_pretrained(student_path)
    coverage = kd_stored.check_stored(list(dataset), cfg.base_model, tokenizer, cfg.top_k, cfg.missing)
    train_rows = kd_stored.stored_dataset(dataset, tokenizer, coverage, cfg.max_length)
    args = replace(trainer_args(cfg, output_dir), remove_unused_columns=False,
                   dataset_kwargs={"skip_prepare_dataset": True})
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    collator = kd_stored.StoredTopKCollator(DataCollatorForLanguageModeling(pad_token_id=pad), coverage.top_k)
    trainer = _trainer_class()(teacher=None, kd=cfg, context=None, model=str(student_path), args=args,
                               train_dataset=train_rows, data_collator=collator, processing_class=tokenizer,
                               peft_config=lora_config(cfg) if cfg.lora else None)
    result = _result(trainer, train_and_save(trainer, output_dir, len(train_rows), callbacks))
    return {**result, "kd_source": "stored", "kd_coverage": coverage.line(), "kd_rows_with_topk": coverage.with_topk,
            "kd_rows_missing_topk": coverage.missing, "kd_top_k": coverage.top_k}


def _result(trainer: Any, result: dict) -> dict:
    history, seconds = result["log_history"], result["train_seconds"]
    return {**result, "kd_loss": _last(history, "kd_loss"), "ce_loss": _last(history, "ce_loss"),
            "train_tokens": trainer.kd_tokens, "teacher_forwards": trainer.teacher_forwards,
            "tokens_per_second": trainer.kd_tokens / seconds if seconds else None}


class ContextInsert:
    """The teacher-only turns as token ids, inserted at `at` (after the system block) into student rows."""

    def __init__(self, at: int, prefix: list[int], ids: list[int]):
        self.at, self.prefix, self.ids = at, prefix, ids

    @classmethod
    def build(cls, tokenizer: Any, shots: tuple[tuple[str, str], ...]) -> ContextInsert:
        turns = [{"role": role, "content": text} for user, assistant in shots
                 for role, text in (("user", user), ("assistant", assistant))]

        def render(messages: list[dict]) -> list[int]:
            return kd_stored.chat_ids(tokenizer, messages)

        # Two one-turn chats that differ from their first content token on: their common prefix is the
        # system block and the user header, where the template starts every first turn.
        a, b = render([{"role": "user", "content": "A"}]), render([{"role": "user", "content": "B"}])
        at = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
        if not turns:
            return cls(at, a[:at], [])
        full = render([*turns, {"role": "user", "content": "A"}])
        ids = full[at: len(full) - len(a) + at]
        if full != a[:at] + ids + a[at:]:
            raise ValueError("kd teacher_few_shot: this tokenizer's chat template does not render the turns as an "
                             "insertion after the system block; set teacher_few_shot: [] or use method sft")
        return cls(at, a[:at], ids)

    def apply(self, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
        """The teacher's input: each row with `ids` inserted at `at` (every row must start with `prefix`)."""
        import torch

        if not self.ids:
            return input_ids, attention_mask
        prefix = torch.tensor(self.prefix, device=input_ids.device)
        if input_ids.size(1) < self.at or not bool((input_ids[:, : self.at] == prefix).all()):
            raise ValueError("kd teacher_few_shot: a training row does not start with the chat template's system "
                             "block, so the teacher's turns cannot be inserted; check the snapshot rows' format")
        inserted = torch.tensor(self.ids, device=input_ids.device).expand(input_ids.size(0), -1)
        ids = torch.cat([input_ids[:, : self.at], inserted, input_ids[:, self.at:]], dim=1)
        mask = torch.cat([attention_mask[:, : self.at], torch.ones_like(inserted), attention_mask[:, self.at:]], dim=1)
        return ids, mask

    def drop(self, logits: Any) -> Any:
        """Teacher logits back on the student's positions: the inserted positions removed."""
        import torch

        if not self.ids:
            return logits
        return torch.cat([logits[:, : self.at], logits[:, self.at + len(self.ids):]], dim=1)


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

        def __init__(self, *args: Any, teacher: Any, kd: KDConfig, context: ContextInsert | None,
                     **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.teacher = teacher.to(self.accelerator.device) if teacher is not None else None  # None: stored
            self.kd = kd
            self.context = context
            self.topk_cache: dict[tuple[int, ...], tuple[Any, Any]] = {}  # row tokens -> teacher top-k
            self.teacher_forwards = 0
            self.kd_tokens = 0

        def _teacher_topk(self, forward: dict, mask: Any, vocab: int) -> tuple[Any, Any]:
            """The teacher's top-k (ids, T = 1 logprobs) at the masked positions, flattened row by row like
            `student[mask]`. Each row's values are kept by its tokens: with right padding and causal attention
            a row's positions do not depend on the batch it is in, so later epochs reuse the first epoch's
            forward instead of running the teacher (under its few-shot context, the dearest part) again."""
            attention = forward.get("attention_mask", torch.ones_like(forward["input_ids"]))
            keys = [tuple(row[keep.bool()].tolist()) for row, keep in zip(forward["input_ids"], attention)]
            if any(key not in self.topk_cache for key in keys):
                with torch.no_grad():
                    ids, extended = self.context.apply(forward["input_ids"], attention)
                    logits = self.context.drop(self.teacher(input_ids=ids, attention_mask=extended,
                                                            use_cache=False).logits)[:, :-1]
                    # A teacher whose embedding is padded past the shared tokenizer (same vocab, larger matrix).
                    logprobs = torch.log_softmax(logits[..., :vocab].float(), dim=-1)
                    for key, row, keep in zip(keys, logprobs, mask):
                        top_logprobs, top_ids = row[keep].topk(self.kd.top_k, dim=-1)
                        self.topk_cache[key] = (top_ids, top_logprobs)
                self.teacher_forwards += 1
            rows = [self.topk_cache[key] for key in keys]
            return torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows])

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            # Full logits are needed (TRL's fused head gives only the label's logprob), but only at completion
            # positions: logits[:, t] predicts labels[:, t + 1], so the mask is the shifted labels.
            labels = inputs["labels"]
            stored = {k: inputs[k] for k in ("kd_ids", "kd_logprobs", "kd_has") if k in inputs}
            forward = {k: v for k, v in inputs.items() if k != "labels" and k not in stored}
            outputs = model(**forward, use_cache=False)
            mask = labels[:, 1:] != -100
            student = outputs.logits[:, :-1][mask]  # [N, V]
            if stored:  # the top-k of the token at each position, captured when the teacher generated it
                has = stored["kd_has"][:, 1:][mask]  # completion positions without one (general rows): CE only
                top_ids, top_logprobs = stored["kd_ids"][:, 1:][mask][has], stored["kd_logprobs"][:, 1:][mask][has]
                taught = student[has]
            else:
                top_ids, top_logprobs = self._teacher_topk(forward, mask, student.size(-1))
                taught = student
            kd = topk_kd_loss(taught, top_ids, top_logprobs, torch.ones_like(top_ids[:, 0], dtype=torch.bool),
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
