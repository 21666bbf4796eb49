"""Carlini-Wagner L2 on the real digits CNN: success, bounds, confidence, budgets, targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aisec.attacks.evasion.cw import CarliniWagnerL2
from aisec.errors import ParameterError

FAST = {"steps": 100, "binary_search_steps": 4, "lr": 0.05}


@pytest.fixture(scope="module")
def data(digits_small):
    return digits_small.subset(40, seed=4)


@pytest.fixture(scope="module")
def plain(digits_cnn, data):
    return CarliniWagnerL2(**FAST).run(digits_cnn, data, seed=0)


def test_breaks_every_point_inside_the_box(plain, digits_cnn, data) -> None:
    correct, success = plain.per_sample["clean_correct"], plain.per_sample["success"]
    assert success[correct].all()
    x_adv = plain.artifacts["x_adv"]
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert (digits_cnn.predict_labels(x_adv[success]) != data.y[success]).all()


def test_confidence_buys_a_logit_margin_at_a_larger_norm(plain, digits_cnn, data) -> None:
    kappa = 3.0
    r = CarliniWagnerL2(confidence=kappa, **FAST).run(digits_cnn, data, seed=0)
    success = r.per_sample["success"]
    assert success.mean() > 0.8
    with torch.no_grad():
        z = digits_cnn.logits(torch.as_tensor(r.artifacts["x_adv"][success]))
    y = torch.as_tensor(data.y[success])
    true = z.gather(1, y[:, None])[:, 0]
    other = z.scatter(1, y[:, None], float("-inf")).amax(1)
    assert (other - true >= kappa - 1e-3).all()
    both = success & plain.per_sample["success"]
    assert np.median(r.per_sample["l2"][both]) > np.median(plain.per_sample["l2"][both])


def test_targeted_cw_reaches_the_target(digits_cnn, data) -> None:
    r = CarliniWagnerL2(targeted=True, target_class=2, **FAST).run(digits_cnn, data, seed=0)
    success = r.per_sample["success"]
    attacked = r.per_sample["clean_correct"] & (data.y != 2)
    assert success.sum() >= 0.9 * attacked.sum()
    assert (digits_cnn.predict_labels(r.artifacts["x_adv"][success]) == 2).all()


def test_budget_success_means_norm_within_eps(plain, digits_cnn, data) -> None:
    eps = float(plain.metrics["minimal_perturbation"]["median"]) * 1.2
    r = CarliniWagnerL2(eps=eps, **FAST).run(digits_cnn, data, seed=0)
    success = r.per_sample["success"]
    assert (r.per_sample["l2"][success] <= eps * (1 + 1e-4) + 1e-7).all()
    assert 0.3 < r.metrics["attack_success_rate"] < 1.0


def test_only_the_l2_norm_is_accepted(digits_cnn, data) -> None:
    with pytest.raises(ParameterError, match="norm"):
        CarliniWagnerL2(norm="linf").run(digits_cnn, data)
