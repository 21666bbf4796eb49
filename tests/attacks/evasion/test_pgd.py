"""PGD and FGSM on the real digits CNN: strength, budgets, bounds, curves, targets, re-scoring."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.attacks.evasion.fgsm import FGSM
from aisec.attacks.evasion.pgd import PGD


@pytest.fixture(scope="module")
def data(digits_test):
    return digits_test.subset(150, seed=3)


def test_pgd_linf_03_leaves_almost_nothing_robust(digits_cnn, data) -> None:
    r = PGD(eps=0.3, steps=40).run(digits_cnn, data, seed=0)
    assert r.metrics["clean_accuracy"] > 0.9
    assert r.metrics["robust_accuracy"] <= 0.02


def test_fgsm_is_weaker_than_pgd_at_the_same_budget(digits_cnn, data) -> None:
    fgsm = FGSM(eps=0.1).run(digits_cnn, data, seed=0).metrics["robust_accuracy"]
    pgd = PGD(eps=0.1, steps=40).run(digits_cnn, data, seed=0).metrics["robust_accuracy"]
    assert pgd < fgsm - 0.05


@pytest.mark.parametrize("attack", [PGD, FGSM])
def test_eps_zero_equals_clean_accuracy(attack, digits_cnn, data) -> None:
    m = attack(eps=0.0).run(digits_cnn, data, seed=0).metrics
    assert m["robust_accuracy"] == pytest.approx(m["clean_accuracy"])


@pytest.mark.parametrize(("norm", "eps"), [("linf", 0.1), ("l2", 0.8), ("l1", 4.0)])
def test_norms_within_budget_and_inputs_within_bounds(norm, eps, digits_cnn, data) -> None:
    r = PGD(eps=eps, norm=norm, steps=20).run(digits_cnn, data, seed=0)
    x_adv = r.artifacts["x_adv"]
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert (r.per_sample[norm] <= eps * (1 + 1e-4) + 1e-6).all()
    assert r.per_sample["success"].sum() > 0


def test_success_rises_with_eps(digits_cnn, data) -> None:
    r = PGD(eps=0.2, curve=[0.0, 0.05, 0.1, 0.15], steps=20).run(digits_cnn, data, seed=0)
    acc = [p["robust_accuracy"] for p in r.metrics["curve"]]
    assert acc == sorted(acc, reverse=True)
    assert acc[0] > acc[-1] + 0.5


def test_targeted_pgd_reaches_the_target(digits_cnn, data) -> None:
    r = PGD(eps=0.3, steps=40, targeted=True, target_class=3).run(digits_cnn, data, seed=0)
    success = r.per_sample["success"]
    assert success.mean() > 0.7
    pred = digits_cnn.predict_labels(r.artifacts["x_adv"][success])
    assert (pred == 3).all()


def test_reported_success_equals_rescored_success(digits_cnn, data) -> None:
    r = PGD(eps=0.1, steps=20).run(digits_cnn, data, seed=0)
    pred = digits_cnn.predict_labels(r.artifacts["x_adv"])
    correct = r.per_sample["clean_correct"]
    assert np.array_equal(r.per_sample["success"], correct & (pred != data.y))
