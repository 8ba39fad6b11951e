"""Pure top-k knowledge-distillation losses (torch only: no trainer, no I/O), in the style of TRL's GKD loss.

The teacher is known only through its top-k next-token log-probabilities (token ids plus logprobs in the
shared vocabulary, at temperature 1), which is what an offline capture stores and what a local forward
pass reduces to. Both distributions are therefore compared over the same k + 1 *buckets*: the teacher's
k ids, plus one tail bucket holding the probability mass outside them (teacher: 1 - sum of its top-k
probabilities; student: 1 - sum of its probabilities on those same k ids). Dropping the tail instead
would renormalise the teacher's top-k to 1 and teach the student a sharper distribution than the
teacher's; the tail keeps the missing mass honest (DistillKit's `missing_probability_handling`, TRL's
`loss_add_tail`).

Temperature. Each side's k + 1 bucket log-probabilities are divided by T and log-softmaxed again, i.e.
q_i ∝ p_i^(1/T) for every bucket, the tail treated as one pseudo-token whose logit is log(tail mass).
Why this way: it needs nothing but the stored top-k logprobs (the teacher's other logits are unknown
offline), the ratios among the top-k are exactly those of softmax(z / T), it is a proper distribution,
at T = 1 it is the exact top-k + tail distribution, and the *same* transform on both sides keeps the
loss at 0 when the two agree. Its one approximation: a tail spread over many tokens would gain more
mass at T > 1 than one pseudo-token does, so the tempered tail is a lower bound of the true one.

The divergence is multiplied by T² (Hinton et al.: soft-target gradients scale as 1/T², so T² keeps the
KD term's size comparable with CE as T changes) and averaged over the masked (completion) positions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# The tail is clamped to this mass so log(tail) stays finite when a top-k covers (or, from rounded API
# logprobs, exceeds) all of the probability.
MIN_TAIL = 1e-10


def teacher_buckets(teacher_topk_logprobs: torch.Tensor) -> torch.Tensor:
    """[..., k] teacher top-k logprobs at T = 1 -> [..., k + 1] log-probabilities of the k ids and the tail."""
    import torch

    covered = torch.logsumexp(teacher_topk_logprobs, dim=-1, keepdim=True)
    tail = torch.log(torch.clamp(-torch.expm1(torch.clamp(covered, max=0.0)), min=MIN_TAIL))
    return torch.cat([teacher_topk_logprobs, tail], dim=-1)


def student_buckets(student_logits: torch.Tensor, topk_ids: torch.Tensor) -> torch.Tensor:
    """[..., V] student logits and [..., k] teacher ids -> [..., k + 1] student log-probabilities of those ids
    and of everything else. The tail is a log-sum-exp over the other logits (not log(1 - sum)), so it stays
    exact and its gradient finite even when the student puts almost all its mass on the k ids."""
    import torch

    logits = _at_least_fp32(student_logits)
    total = torch.logsumexp(logits, dim=-1, keepdim=True)
    picked = torch.gather(logits, -1, topk_ids) - total
    rest = logits.scatter(-1, topk_ids, float("-inf"))
    tail = torch.logsumexp(rest, dim=-1, keepdim=True) - total
    return torch.cat([picked, tail], dim=-1)


def temper(bucket_logprobs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Bucket log-probabilities at T = 1 -> at temperature T: log_softmax(logp / T) (q_i ∝ p_i^(1/T))."""
    import torch

    return torch.log_softmax(bucket_logprobs / temperature, dim=-1)


def generalized_jsd(student_logp: torch.Tensor, teacher_logp: torch.Tensor, beta: float) -> torch.Tensor:
    """Per-position divergence over the last dim (log-probabilities of the same buckets), as TRL's GKD defines it.

    β = 0: forward KL(teacher ‖ student), mode-covering (classic KD). β = 1: reverse KL(student ‖ teacher),
    mode-seeking (MiniLLM). In between: β·KL(teacher ‖ m) + (1 − β)·KL(student ‖ m) with the mixture
    m = β·teacher + (1 − β)·student."""
    import torch

    if beta == 0.0:
        return _kl(teacher_logp, student_logp)
    if beta == 1.0:
        return _kl(student_logp, teacher_logp)
    mixture = torch.logsumexp(torch.stack([student_logp + math.log(1 - beta), teacher_logp + math.log(beta)]), dim=0)
    return beta * _kl(teacher_logp, mixture) + (1 - beta) * _kl(student_logp, mixture)


def _at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 logits lose the small probability differences KD is about; float64 stays float64."""
    return x if x.dtype.itemsize >= 4 else x.float()


def _kl(p_logp: torch.Tensor, q_logp: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) over the last dim, from log-probabilities."""
    return (p_logp.exp() * (p_logp - q_logp)).sum(dim=-1)


def topk_kd_loss(student_logits: torch.Tensor, teacher_topk_ids: torch.Tensor, teacher_topk_logprobs: torch.Tensor,
                 mask: torch.Tensor, temperature: float, beta: float = 0.0) -> torch.Tensor:
    """T² · mean over masked positions of the divergence between the tempered k + 1 bucket distributions.

    Shapes: student_logits [B, L, V]; teacher_topk_ids (long) and teacher_topk_logprobs (T = 1) [B, L, k];
    mask [B, L], true where the position's next token is a completion token. All four must already be
    aligned (the caller applies the one-token shift between logits and labels). A batch with no masked
    position gives a finite 0 that still carries a gradient graph."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    teacher = temper(teacher_buckets(_at_least_fp32(teacher_topk_logprobs)), temperature)
    student = temper(student_buckets(student_logits, teacher_topk_ids), temperature)
    per_position = generalized_jsd(student, teacher.detach(), beta)
    weights = mask.to(per_position.dtype)
    return temperature ** 2 * (per_position * weights).sum() / weights.sum().clamp(min=1)


def combine(kd: torch.Tensor, ce: torch.Tensor, alpha: float) -> torch.Tensor:
    """alpha · KD + (1 − alpha) · CE, with `kd` from `topk_kd_loss` (which already carries the T² factor),
    so this is the field's L = α·T²·KL + (1 − α)·CE. alpha = 1 is pure KD, alpha = 0 plain SFT."""
    return alpha * kd + (1 - alpha) * ce

