import math

import pytest
import torch

from training.methods.kd_loss import combine, generalized_jsd, student_buckets, teacher_buckets, temper, topk_kd_loss


def _softmax(xs: list[float], t: float = 1.0) -> list[float]:
    exps = [math.exp(x / t) for x in xs]
    return [e / sum(exps) for e in exps]


def _kl(p: list[float], q: list[float]) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q))


def _teacher_topk(teacher_logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    logprobs = torch.log_softmax(teacher_logits, dim=-1)
    values, ids = logprobs.topk(k, dim=-1)
    return ids, values


def _one(xs: list[float]) -> torch.Tensor:
    """One position of one sequence: [1, 1, len(xs)]."""
    return torch.tensor([[xs]], dtype=torch.float64)


MASK_ONE = torch.ones(1, 1, dtype=torch.bool)


def test_identical_distributions_give_zero_at_any_temperature_and_beta():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 11)
    ids, logprobs = _teacher_topk(logits, k=4)
    mask = torch.ones(2, 5, dtype=torch.bool)
    for temperature in (1.0, 2.0, 5.0):
        for beta in (0.0, 0.5, 1.0):
            loss = topk_kd_loss(logits, ids, logprobs, mask, temperature, beta)
            assert loss.item() == pytest.approx(0.0, abs=1e-6), (temperature, beta)


def test_hand_computed_three_token_vocab_with_k_2_and_its_tail_bucket():
    """Vocab of 3, k = 2: the tail bucket is the third token alone, so the bucket loss is the full-vocab KL."""
    teacher_z, student_z = [2.0, 1.0, 0.0], [0.5, 0.2, 1.0]
    p, q = _softmax(teacher_z), _softmax(student_z)
    ids, logprobs = _teacher_topk(_one(teacher_z), k=2)
    assert ids.tolist() == [[[0, 1]]]
    buckets = teacher_buckets(logprobs).exp()[0, 0].tolist()
    assert buckets == pytest.approx([p[0], p[1], 1 - p[0] - p[1]])  # tail = 1 - sum of the top-k
    loss = topk_kd_loss(_one(student_z), ids, logprobs, MASK_ONE, temperature=1.0)
    assert loss.item() == pytest.approx(_kl(p, q), rel=1e-9)
    # At T = 2 the one-token tail makes the tempered buckets exactly softmax(z / 2) on both sides, times T².
    loss_t2 = topk_kd_loss(_one(student_z), ids, logprobs, MASK_ONE, temperature=2.0)
    assert loss_t2.item() == pytest.approx(4 * _kl(_softmax(teacher_z, 2), _softmax(student_z, 2)), rel=1e-9)


def test_the_tail_bucket_pools_the_mass_outside_the_teachers_top_k():
    """Vocab of 4, k = 2: tokens 2 and 3 share one bucket on both sides (by-hand formula)."""
    teacher_z, student_z = [3.0, 2.0, 0.5, 0.0], [1.0, 2.0, 0.0, 1.5]
    p, q = _softmax(teacher_z), _softmax(student_z)
    p_b, q_b = [p[0], p[1], p[2] + p[3]], [q[0], q[1], q[2] + q[3]]
    ids, logprobs = _teacher_topk(_one(teacher_z), k=2)
    assert student_buckets(_one(student_z), ids).exp()[0, 0].tolist() == pytest.approx(q_b)
    loss = topk_kd_loss(_one(student_z), ids, logprobs, MASK_ONE, temperature=1.0)
    assert loss.item() == pytest.approx(_kl(p_b, q_b), rel=1e-9)


def test_top_k_renormalisation_at_temperature_is_p_to_the_one_over_t():
    """logprobs / T then log-softmax over the k + tail buckets: q_i = p_i^(1/T) / sum_j p_j^(1/T)."""
    p_top = [0.5, 0.3]  # stored top-2 at T = 1; tail 0.2
    logprobs = torch.tensor([[[math.log(x) for x in p_top]]], dtype=torch.float64)
    buckets = [0.5, 0.3, 0.2]
    for t in (1.0, 2.0, 4.0):
        powered = [b ** (1 / t) for b in buckets]
        expected = [x / sum(powered) for x in powered]
        assert temper(teacher_buckets(logprobs), t).exp()[0, 0].tolist() == pytest.approx(expected, rel=1e-9)


def test_a_top_k_that_covers_all_the_mass_keeps_the_loss_finite():
    logprobs = torch.log(torch.tensor([[[0.6, 0.4000001]]]))  # rounded API logprobs summing past 1
    ids = torch.tensor([[[0, 1]]])
    loss = topk_kd_loss(torch.tensor([[[0.0, 0.0, 0.0]]]), ids, logprobs, MASK_ONE, temperature=2.0)
    assert math.isfinite(loss.item())


def test_t_squared_scaling():
    torch.manual_seed(1)
    student, teacher = torch.randn(1, 3, 9, dtype=torch.float64), torch.randn(1, 3, 9, dtype=torch.float64)
    ids, logprobs = _teacher_topk(teacher, k=3)
    mask = torch.ones(1, 3, dtype=torch.bool)
    for t in (1.0, 2.0, 3.0):
        divergence = generalized_jsd(temper(student_buckets(student, ids), t), temper(teacher_buckets(logprobs), t), 0.0)
        loss = topk_kd_loss(student, ids, logprobs, mask, temperature=t)
        assert loss.item() == pytest.approx(t ** 2 * divergence.mean().item(), rel=1e-9)


def test_masked_positions_do_not_count():
    torch.manual_seed(2)
    student, teacher = torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    ids, logprobs = _teacher_topk(teacher, k=3)
    mask = torch.tensor([[False, False, True, True], [False, True, True, False]])
    base = topk_kd_loss(student, ids, logprobs, mask, temperature=2.0)
    prompt_changed = student.clone()
    prompt_changed[~mask] = torch.randn(int((~mask).sum()), 8) * 10
    assert topk_kd_loss(prompt_changed, ids, logprobs, mask, temperature=2.0).item() == pytest.approx(base.item())
    completion_changed = student.clone()
    completion_changed[mask] = torch.randn(int(mask.sum()), 8) * 10
    assert topk_kd_loss(completion_changed, ids, logprobs, mask, temperature=2.0).item() != pytest.approx(base.item())
    # The mean is over masked positions only: one position alone gives its own divergence.
    only = torch.zeros(2, 4, dtype=torch.bool)
    only[0, 2] = True
    alone = topk_kd_loss(student[0:1, 2:3], ids[0:1, 2:3], logprobs[0:1, 2:3], MASK_ONE, temperature=2.0)
    assert topk_kd_loss(student, ids, logprobs, only, temperature=2.0).item() == pytest.approx(alone.item())
    assert topk_kd_loss(student, ids, logprobs, torch.zeros(2, 4, dtype=torch.bool), 2.0).item() == 0.0


def test_beta_0_is_forward_kl_beta_1_reverse_kl_and_between_the_jsd_mixture():
    teacher_z, student_z = [2.0, 1.0, 0.0], [0.5, 0.2, 1.0]
    p, q = _softmax(teacher_z), _softmax(student_z)
    ids, logprobs = _teacher_topk(_one(teacher_z), k=2)
    student = _one(student_z)
    forward = topk_kd_loss(student, ids, logprobs, MASK_ONE, temperature=1.0, beta=0.0).item()
    reverse = topk_kd_loss(student, ids, logprobs, MASK_ONE, temperature=1.0, beta=1.0).item()
    assert forward == pytest.approx(_kl(p, q), rel=1e-9)
    assert reverse == pytest.approx(_kl(q, p), rel=1e-9)
    assert forward != pytest.approx(reverse)
    beta = 0.3
    m = [beta * a + (1 - beta) * b for a, b in zip(p, q)]
    mixed = topk_kd_loss(student, ids, logprobs, MASK_ONE, temperature=1.0, beta=beta).item()
    assert mixed == pytest.approx(beta * _kl(p, m) + (1 - beta) * _kl(q, m), rel=1e-9)
    # β = 0.5 is the Jensen-Shannon divergence: symmetric in its two arguments.
    s, t = torch.log(torch.tensor(q)), torch.log(torch.tensor(p))
    assert generalized_jsd(s, t, 0.5).item() == pytest.approx(generalized_jsd(t, s, 0.5).item())


def test_gradient_flows_to_the_student_logits_on_masked_positions_only():
    torch.manual_seed(3)
    student = torch.randn(1, 3, 6, requires_grad=True)
    ids, logprobs = _teacher_topk(torch.randn(1, 3, 6), k=2)
    mask = torch.tensor([[False, True, True]])
    for beta in (0.0, 0.5, 1.0):
        student.grad = None
        topk_kd_loss(student, ids, logprobs, mask, temperature=2.0, beta=beta).backward()
        assert student.grad[0, 1:].abs().sum() > 0, beta
        assert student.grad[0, 0].abs().sum() == 0, beta


def test_invalid_temperature_and_beta_are_refused():
    ids, logprobs = _teacher_topk(_one([1.0, 0.0, 0.0]), k=2)
    with pytest.raises(ValueError, match="temperature"):
        topk_kd_loss(_one([0.0, 0.0, 0.0]), ids, logprobs, MASK_ONE, temperature=0.0)
    with pytest.raises(ValueError, match="beta"):
        topk_kd_loss(_one([0.0, 0.0, 0.0]), ids, logprobs, MASK_ONE, temperature=1.0, beta=1.5)


def test_combine_is_the_alpha_mixture():
    kd, ce = torch.tensor(2.0), torch.tensor(4.0)
    assert combine(kd, ce, 1.0).item() == 2.0 and combine(kd, ce, 0.0).item() == 4.0
    assert combine(kd, ce, 0.25).item() == pytest.approx(0.25 * 2.0 + 0.75 * 4.0)
