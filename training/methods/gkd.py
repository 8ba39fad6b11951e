"""On-policy distillation (`gkd`): TRL's Generalized Knowledge Distillation trainer with a local teacher.

When to use it. The teacher is a local model (`resolve_model(teacher_model)`, run by transformers inside
the trainer) that shares the student's tokenizer: the loss compares the two full next-token
distributions id by id, so a teacher with another vocabulary is refused before any step
(`kd.check_same_vocab`, one line naming both vocabularies and their sizes). Use `sft` for an API or
other-tokenizer teacher.

Teacher context (`teacher_few_shot`, as in kd). The demo's teacher is the base model *shown worked
examples*: its knowledge is the context, not other weights (context distillation). The teacher's forward
runs over the student's very tokens with those turns inserted after each row's system block, where the chat
template puts them; TRL's collator pads on the left, so each row's insertion point is its own (first
unpadded token + the system block), and the inserted positions are cut out of the teacher's logits again,
so teacher and student are compared on the same tokens, for the snapshot's rows and the student's own
samples alike. The student never sees the turns. Without turns the teacher must differ from the student's
base model: the loss is the divergence alone, which for a model distilling itself is 0 with a 0 gradient,
so that run is refused before any step (kd, whose CE term still learns the text, allows it).

What it does. Each step, with probability λ (`lmbda`), the student first samples its own completions for
the batch's prompts (`max_new_tokens`, at `temperature`) and trains on those (on-policy, against exposure
bias: the student learns from the teacher where *its own* mistakes take it); otherwise it trains on the
snapshot's completions (with `seq_kd`, on completions the teacher samples instead). Either way the loss is
the generalized Jensen-Shannon divergence between teacher and student over the full vocabulary at every
completion token (no CE term, no top-k): β = 0 is forward KL(teacher ‖ student), β = 1 reverse KL
(mode-seeking, as MiniLLM), between the JSD of the β-mixture. TRL's loss compares the distributions at
T = 1; `temperature` only shapes the sampling.

Data. The snapshot rows (training/data.py: prompt/completion conversations) become one `messages` list
each, which TRL's ChatML collator tokenises with the student's chat template (prompt tokens masked, the
prompt kept apart for generation; over-long rows keep their last `max_length` tokens).

Cost. Per step one student forward + backward and one teacher forward over the whole vocabulary, like
`kd` (longer with teacher turns); an on-policy step adds autoregressive sampling of up to `max_new_tokens`
tokens by the student. Measured on 2 CPU cores, SmolLM2-135M, LoRA r16, batch 8 (bench/README.md
"Training methods: step time and capture"): λ = 0 1.4–1.7x an `sft` step (a full-vocabulary JSD at every
position), λ = 1 2.2–3.5x; with the demo's five teacher turns 2.8x and 3.9x (kd 2.3–2.5x).

Built on TRL's experimental GKDTrainer (an SFTTrainer subclass), so LoRA (peft), accelerate and
checkpoints work as for `sft`; its arguments are TRL's GKDConfig built from the same shared fields as
every other method's (sft.trainer_args).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generators.local_models import resolve_model
from training.config import LocalTeacherConfig
from training.methods.kd import ContextInsert, check_same_vocab
from training.methods.sft import lora_config, train_and_save, trainer_args


@dataclass(frozen=True)
class GKDConfig(LocalTeacherConfig):
    method: str = field(default="gkd", metadata={
        "help": "gkd: on-policy distillation (TRL's GKD) from a local teacher sharing the student's tokenizer"})
    lmbda: float = field(default=0.5, metadata={
        "help": "share of steps in [0, 1] whose batch the student samples itself (on-policy); the rest train "
                "on the snapshot's completions"})
    beta: float = field(default=0.5, metadata={
        "help": "generalized JSD in [0, 1]: 0 = forward KL(teacher || student), 1 = reverse KL, between = mixture"})
    temperature: float = field(default=0.9, metadata={
        "help": "sampling temperature in (0, 10] of on-policy (and seq_kd) completions; the loss itself is at T = 1"})
    max_new_tokens: int = field(default=64, metadata={
        "help": "tokens sampled per on-policy completion (the dominant cost of an on-policy step)"})
    seq_kd: bool = field(default=False, metadata={
        "help": "off-policy steps train on completions the teacher samples instead of the snapshot's text"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method != "gkd":
            raise ValueError(f"GKDConfig is for method 'gkd', got {self.method!r}")
        if not 0.0 <= self.lmbda <= 1.0:
            raise ValueError(f"lmbda must be in [0, 1] (the share of on-policy steps), got {self.lmbda}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1] (0 = forward KL, 1 = reverse KL), got {self.beta}")
        if not 0.0 < self.temperature <= 10.0:
            raise ValueError(f"temperature must be in (0, 10], got {self.temperature}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")


def to_messages(dataset):
    """prompt/completion conversations (training/data.py) -> one `messages` list per row, TRL's ChatML collator's
    input (its `prompt` key would be read as already-formatted text, so the two columns are dropped)."""
    return dataset.map(lambda row: {"messages": row["prompt"] + row["completion"]},
                       remove_columns=dataset.column_names)


def gkd_args(cfg: GKDConfig, output_dir: Path):
    """TRL's GKDConfig: the shared fields exactly as every method gets them (sft.trainer_args) plus GKD's own."""
    from trl.experimental.gkd import GKDConfig as TRLGKDConfig

    base = trainer_args(cfg, output_dir)
    return TRLGKDConfig(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)},
                        lmbda=cfg.lmbda, beta=cfg.beta, temperature=cfg.temperature,
                        max_new_tokens=cfg.max_new_tokens, seq_kd=cfg.seq_kd)


def fit(dataset, cfg: GKDConfig, output_dir: Path, callbacks: tuple = ()) -> dict:
    """Check the vocabularies, then train on `dataset` with TRL's GKD; save to `output_dir/final`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    student_path, teacher_path = resolve_model(cfg.base_model), resolve_model(str(cfg.teacher_model))
    check_teacher(str(cfg.teacher_model), teacher_path, student_path, bool(cfg.teacher_few_shot))
    tokenizer = AutoTokenizer.from_pretrained(student_path)
    check_same_vocab(str(cfg.teacher_model), AutoTokenizer.from_pretrained(teacher_path), cfg.base_model, tokenizer,
                     "gkd")
    if tokenizer.pad_token is None:  # the ChatML collator pads and refuses a tokenizer without a pad token
        tokenizer.pad_token = tokenizer.eos_token
    context = ContextInsert.build(tokenizer, cfg.teacher_few_shot or ())
    teacher = AutoModelForCausalLM.from_pretrained(teacher_path, dtype=torch.float32).eval().requires_grad_(False)
    trainer = _trainer_class()(model=str(student_path), teacher_model=teacher, args=gkd_args(cfg, output_dir),
                               train_dataset=to_messages(dataset), processing_class=tokenizer,
                               peft_config=lora_config(cfg) if cfg.lora else None)
    trainer.context = context
    result = train_and_save(trainer, output_dir, len(dataset), callbacks)
    seconds = result["train_seconds"]
    return {**result, "train_tokens": trainer.gkd_tokens, "sampled_batches": trainer.sampled_batches,
            "tokens_per_second": trainer.gkd_tokens / seconds if seconds else None}


def check_teacher(teacher: str, teacher_path: Path, student_path: Path, context: bool = False) -> None:
    """Refuse (ValueError, one line) a teacher that is not a local checkpoint, or is the student's own base model
    without teacher-only turns: GKD's loss is only the divergence from the teacher, which with identical models
    and inputs is 0 with a 0 gradient, so the run would train nothing (unlike kd, whose CE term still learns)."""
    if not (teacher_path / "config.json").exists():
        raise ValueError(f"gkd teacher_model {teacher}: no local checkpoint there (no config.json); set "
                         "train.teacher_model to a checkpoint directory or the embedded model's name")
    if teacher_path.resolve() == student_path.resolve() and not context:
        raise ValueError(f"gkd teacher_model {teacher} is the student's own base model and has no teacher_few_shot "
                         "turns, so the divergence and its gradient are 0 and nothing would train; set "
                         "train.teacher_few_shot (context distillation) or another local checkpoint with the "
                         "student's tokenizer as train.teacher_model")


def with_context(input_ids: Any, attention_mask: Any, context: ContextInsert) -> tuple[Any, Any, list[int]]:
    """The teacher's input for left-padded rows (TRL's ChatML collator and on-policy samples): each row with the
    teacher-only turns inserted after its system block, which starts at the row's first unpadded token; and per
    row where they were inserted (`without_context` removes those positions from the teacher's logits)."""
    import torch

    starts = (attention_mask == 0).long().cumprod(dim=1).sum(dim=1).tolist()  # leading pad count per row
    prefix = torch.tensor(context.prefix, device=input_ids.device)
    inserted = torch.tensor(context.ids, device=input_ids.device, dtype=input_ids.dtype)
    rows, masks, at = [], [], []
    for ids, mask, start in zip(input_ids, attention_mask, starts):
        cut = start + context.at
        if ids.size(0) < cut or not bool((ids[start:cut] == prefix).all()):
            raise ValueError("gkd teacher_few_shot: a row does not start with the chat template's system block (cut "
                             "by max_length?), so the teacher's turns cannot be inserted; raise max_length")
        rows.append(torch.cat([ids[:cut], inserted, ids[cut:]]))
        masks.append(torch.cat([mask[:cut], torch.ones_like(inserted), mask[cut:]]))
        at.append(cut)
    return torch.stack(rows), torch.stack(masks), at


def without_context(logits: Any, at: list[int], length: int) -> Any:
    """Teacher logits back on the student's positions: each row's `length` inserted positions removed."""
    import torch

    return torch.stack([torch.cat([row[:cut], row[cut + length:]]) for row, cut in zip(logits, at)])


@functools.cache
def _trainer_class() -> type:
    """TRL's GKDTrainer counting the tokens it trains on and the batches it sampled; built on first use
    so importing this module stays light."""
    import os

    # Chosen knowingly (TRL keeps GKD under trl.experimental; tests/training/test_gkd.py runs it): its warning
    # on every run tells a user nothing they can act on.
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from trl.experimental.gkd import GKDTrainer

    class CountingGKDTrainer(GKDTrainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.gkd_tokens = 0
            self.sampled_batches = 0

        context: ContextInsert | None = None  # teacher-only turns; set by fit

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.context is None or not self.context.ids:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            # TRL's GKD loss with the teacher's forward over the same tokens plus its few-shot turns.
            import torch

            student = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
            with torch.no_grad():
                ids, mask, at = with_context(inputs["input_ids"], inputs["attention_mask"], self.context)
                teacher = self.teacher_model.eval()(input_ids=ids, attention_mask=mask).logits
                teacher = without_context(teacher, at, len(self.context.ids))
            loss = self.generalized_jsd_loss(student_logits=student.logits[:, :-1, :],
                                             teacher_logits=teacher[:, :-1, : student.logits.size(-1)],
                                             labels=inputs["labels"][:, 1:], beta=self.beta,
                                             num_items_in_batch=num_items_in_batch)
            return (loss, student) if return_outputs else loss

        def training_step(self, model, inputs, num_items_in_batch=None):
            given = inputs["input_ids"]
            loss = super().training_step(model, inputs, num_items_in_batch)
            # GKDTrainer swaps the batch in place for a sampled one (on-policy, or the teacher's with seq_kd).
            self.sampled_batches += inputs["input_ids"] is not given
            self.gkd_tokens += int(inputs["attention_mask"].sum().item())
            return loss

    return CountingGKDTrainer
