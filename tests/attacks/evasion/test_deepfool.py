"""DeepFool on the real digits CNN: success, minimality, budgets, bounds and targets."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.attacks.evasion.deepfool import DeepFool
from aisec.attacks.evasion.pgd import PGD
from aisec.errors import ParameterError


@pytest.fixture(scope="module")
def data(digits_small):
    return digits_small.subset(60, seed=1)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_breaks_every_correct_point_with_a_rescored_adversarial(norm, digits_cnn, data) -> None:
    r = DeepFool(norm=norm).run(digits_cnn, data, seed=0)
    correct, success = r.per_sample["clean_correct"], r.per_sample["success"]
    assert r.metrics["clean_accuracy"] > 0.9
    assert success[correct].all()
    x_adv = r.artifacts["x_adv"]
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    pred = digits_cnn.predict_labels(x_adv)
    np.testing.assert_array_equal(success, correct & (pred != data.y))
    minimal = r.per_sample["minimal_norm"][correct]
    np.testing.assert_allclose(minimal, r.per_sample[norm][correct], rtol=1e-5)
    assert r.metrics["minimal_perturbation"]["median"] == pytest.approx(np.median(minimal))


def test_pgd_cannot_break_points_well_below_the_deepfool_norm(digits_cnn, data) -> None:
    """DeepFool's norms are near-minimal: PGD fails far below them and succeeds a bit above."""
    df = DeepFool(norm="l2").run(digits_cnn, data, seed=0)
    med = df.metrics["minimal_perturbation"]["median"]
    weak = PGD(norm="l2", eps=0.5 * med, steps=40).run(digits_cnn, data, seed=0)
    strong = PGD(norm="l2", eps=1.5 * med, steps=40).run(digits_cnn, data, seed=0)
    assert weak.metrics["attack_success_rate"] < 0.3
    assert strong.metrics["attack_success_rate"] > 0.7


def test_budget_success_means_norm_within_eps(digits_cnn, data) -> None:
    free = DeepFool(norm="linf").run(digits_cnn, data, seed=0)
    eps = float(free.metrics["minimal_perturbation"]["median"])
    r = DeepFool(norm="linf", eps=eps, curve=[0.0, eps / 2, 2 * eps]).run(digits_cnn, data, seed=0)
    correct = r.per_sample["clean_correct"]
    expected = correct & (free.per_sample["minimal_norm"] <= eps * (1 + 1e-4) + 1e-7)
    np.testing.assert_array_equal(r.per_sample["success"], expected)
    assert (r.per_sample["linf"][r.per_sample["success"]] <= eps * (1 + 1e-4) + 1e-7).all()
    curve = [p["robust_accuracy"] for p in r.metrics["curve"]]
    assert curve[0] == pytest.approx(r.metrics["clean_accuracy"])
    assert curve == sorted(curve, reverse=True)
    assert curve[-1] < curve[0] / 4


def test_targeted_deepfool_reaches_the_target(digits_cnn, data) -> None:
    r = DeepFool(norm="l2", targeted=True, target_class=4).run(digits_cnn, data, seed=0)
    success = r.per_sample["success"]
    attacked = r.per_sample["clean_correct"] & (data.y != 4)
    assert success.sum() >= 0.9 * attacked.sum()
    assert (digits_cnn.predict_labels(r.artifacts["x_adv"][success]) == 4).all()


def test_rejects_the_l1_norm(digits_cnn, data) -> None:
    with pytest.raises(ParameterError, match="norm"):
        DeepFool(norm="l1").run(digits_cnn, data)
