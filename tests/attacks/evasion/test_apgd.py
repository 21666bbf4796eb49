"""APGD (Croce & Hein, ICML 2020) on real models: schedule, losses, strength and early stopping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aisec.attacks.evasion.apgd import APGDCE, APGDDLR, APGDT, checkpoints
from aisec.attacks.evasion.losses import dlr_loss
from aisec.attacks.evasion.pgd import PGD
from aisec.errors import ParameterError


@pytest.fixture(scope="module")
def data(digits_test):
    return digits_test.subset(150, seed=4)


def test_checkpoints_follow_the_papers_schedule() -> None:
    p = [0.0, 0.22]
    while True:
        nxt = p[-1] + max(p[-1] - p[-2] - 0.03, 0.06)
        if nxt > 1:
            break
        p.append(nxt)
    expected = [math.ceil(round(q * 100, 9)) for q in p[1:]]
    assert checkpoints(100) == expected == [22, 41, 57, 70, 80, 87, 93, 99]


def test_dlr_is_invariant_to_shifting_and_scaling_logits() -> None:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(32, 10, generator=gen)
    y = torch.randint(0, 10, (32,), generator=gen)
    t = (y + 1) % 10
    for yt in (None, t):
        assert torch.allclose(dlr_loss(z, y, yt), dlr_loss(7.0 * z + 3.0, y, yt), atol=1e-5)
    # untargeted DLR is positive exactly when the point is misclassified
    assert torch.equal(dlr_loss(z, y) > 0, z.argmax(1) != y)


def test_apgd_ce_is_at_least_as_strong_as_pgd_with_the_same_steps(digits_cnn, data) -> None:
    pgd = PGD(eps=0.1, steps=40).run(digits_cnn, data, seed=0).metrics["robust_accuracy"]
    apgd = APGDCE(eps=0.1, steps=40).run(digits_cnn, data, seed=0).metrics["robust_accuracy"]
    assert apgd <= pgd + 0.01


def test_apgd_t_is_at_least_as_strong_as_apgd_dlr(digits_cnn, data) -> None:
    dlr = APGDDLR(eps=0.1, steps=30).run(digits_cnn, data, seed=0).metrics["robust_accuracy"]
    apgd_t = APGDT(eps=0.1, steps=30, n_target_classes=3).run(digits_cnn, data, seed=0)
    assert apgd_t.metrics["robust_accuracy"] <= dlr + 0.01
    assert apgd_t.metrics["apgd_runs"] == 3


@pytest.mark.parametrize(("attack", "norm", "eps"), [(APGDCE, "linf", 0.15), (APGDDLR, "l2", 1.0)])
def test_budget_bounds_and_rescoring(attack, norm, eps, digits_cnn, data) -> None:
    r = attack(eps=eps, norm=norm, steps=30).run(digits_cnn, data, seed=0)
    x_adv = r.artifacts["x_adv"]
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert (r.per_sample[norm] <= eps * (1 + 1e-4) + 1e-6).all()
    pred = digits_cnn.predict_labels(x_adv)
    assert np.array_equal(r.per_sample["success"], r.per_sample["clean_correct"] & (pred != data.y))
    assert r.metrics["attack_success_rate"] > 0.5


def test_success_rises_with_eps(digits_cnn, data) -> None:
    r = APGDCE(eps=0.2, curve=[0.0, 0.05, 0.1], steps=20).run(digits_cnn, data, seed=0)
    acc = [p["robust_accuracy"] for p in r.metrics["curve"]]
    assert acc == sorted(acc, reverse=True)
    assert acc[0] == pytest.approx(r.metrics["clean_accuracy"])
    assert acc[-1] < 0.05


@pytest.mark.parametrize("attack", [APGDCE, APGDDLR])
def test_targeted_apgd_reaches_the_target(attack, digits_cnn, data) -> None:
    r = attack(eps=0.3, steps=40, targeted=True, target_class=5).run(digits_cnn, data, seed=0)
    success = r.per_sample["success"]
    assert success.mean() > 0.7
    assert (digits_cnn.predict_labels(r.artifacts["x_adv"][success]) == 5).all()


def test_points_stop_as_soon_as_they_are_broken(digits_cnn, data) -> None:
    steps = 100
    r = APGDCE(eps=0.3, steps=steps).run(digits_cnn, data, seed=0)
    n_attacked = int(r.per_sample["clean_correct"].sum())
    digits_cnn.reset_queries()
    APGDCE(eps=0.3, steps=steps).run(digits_cnn, data, seed=0)
    # without early stopping it would need (steps + 1) gradient passes per point
    assert digits_cnn.queries < 0.2 * (steps + 1) * n_attacked


def test_dlr_needs_three_classes(linear_torch) -> None:
    with pytest.raises(ParameterError, match="needs at least 3 classes"):
        APGDDLR(eps=0.1).run(linear_torch.target, linear_torch.data, seed=0)


def _budgets(minimal: np.ndarray) -> list[float]:
    """Budgets halfway between consecutive sorted minimal norms at least 2% apart."""
    s = np.sort(minimal)
    out = []
    for q in (0.25, 0.5, 0.75):
        i = int(q * (len(s) - 1))
        while i + 1 < len(s) and s[i + 1] < s[i] * 1.02:
            i += 1
        out.append(float((s[i] + s[i + 1]) / 2))
    return out


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_apgd_succeeds_exactly_below_the_closed_form_minimal_norm(norm, linear_torch) -> None:
    case = linear_torch
    exact = case.minimal(norm)
    for eps in _budgets(exact[case.correct]):
        r = APGDCE(eps=eps, norm=norm, steps=50).run(case.target, case.data, seed=0)
        expected = case.correct & (exact < eps)
        assert 0 < expected.sum() < case.correct.sum()
        np.testing.assert_array_equal(r.per_sample["success"], expected)
