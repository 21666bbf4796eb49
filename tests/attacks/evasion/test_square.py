"""Square attack (Andriushchenko et al., ECCV 2020): black-box, within its query budget."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.attacks.evasion.square import Square, p_selection
from aisec.data.dataset import Dataset
from aisec.targets.base import InputSpec
from aisec.targets.sklearn import SklearnClassifier


@pytest.fixture(scope="module")
def data(digits_test):
    return digits_test.subset(80, seed=5)


def test_p_schedule_halves_at_the_papers_iterations() -> None:
    n = 10_000
    assert p_selection(0.8, 5, n) == 0.8
    assert p_selection(0.8, 11, n) == 0.4
    assert p_selection(0.8, 51, n) == 0.2
    assert p_selection(0.8, 8001, n) == pytest.approx(0.8 / 512)
    # the schedule is rescaled to the budget
    assert p_selection(0.8, 6, 100) == 0.8 / 16  # iteration 600 of 10,000


@pytest.mark.parametrize(("norm", "eps"), [("linf", 0.2), ("l2", 1.5)])
def test_square_on_a_scikit_learn_target(norm, eps, digits_logreg, data) -> None:
    queries = 400
    r = Square(eps=eps, norm=norm, queries=queries).run(digits_logreg, data, seed=0)
    ps, m = r.per_sample, r.metrics
    assert m["attack_success_rate"] > 0.5
    assert (ps[norm] <= eps * (1 + 1e-4) + 1e-6).all()
    x_adv = r.artifacts["x_adv"]
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    attacked = ps["clean_correct"]
    assert (ps["queries"][attacked] >= 1).all() and ps["queries"].max() <= queries
    assert m["queries"]["max"] <= queries
    pred = digits_logreg.predict_labels(x_adv)
    assert np.array_equal(ps["success"], attacked & (pred != data.y))


def test_queries_stop_at_success(digits_cnn, data) -> None:
    r = Square(eps=0.3, queries=1000).run(digits_cnn, data, seed=0)
    ps = r.per_sample
    broken = ps["success"]
    assert broken.mean() > 0.8
    assert np.median(ps["queries"][broken]) < 100
    robust = ps["clean_correct"] & ~broken
    assert (ps["queries"][robust] == 1000).all()


def test_success_rises_with_eps(digits_cnn, data) -> None:
    r = Square(eps=0.25, curve=[0.0, 0.1], queries=300).run(digits_cnn, data, seed=0)
    acc = [p["robust_accuracy"] for p in r.metrics["curve"]]
    assert acc[0] == pytest.approx(r.metrics["clean_accuracy"])
    assert acc[0] > acc[1] > acc[2]


def test_targeted_square_reaches_the_target(digits_cnn, data) -> None:
    r = Square(eps=0.3, queries=1000, targeted=True, target_class=1).run(digits_cnn, data, seed=0)
    success = r.per_sample["success"]
    assert success.mean() > 0.5
    assert (digits_cnn.predict_labels(r.artifacts["x_adv"][success]) == 1).all()


def test_flat_tabular_inputs(digits_logreg, data) -> None:
    spec = InputSpec(shape=(64,), n_classes=10)
    flat_target = SklearnClassifier(estimator=digits_logreg.estimator, spec=spec, name="flat")
    flat = Dataset(data.x.reshape(len(data), -1), data.y, name="digits-flat")
    for norm, eps in (("linf", 0.2), ("l2", 1.5)):
        r = Square(eps=eps, norm=norm, queries=300).run(flat_target, flat, seed=0)
        assert r.metrics["attack_success_rate"] > 0.3
        assert (r.per_sample[norm] <= eps * (1 + 1e-4) + 1e-6).all()


def test_top1_probability_targets_are_attackable(digits_logreg, data) -> None:
    top1 = digits_logreg.with_output_mode("top1_probability")
    r = Square(eps=0.2, queries=300).run(top1, data, seed=0)
    assert r.metrics["attack_success_rate"] > 0.3


def test_square_on_a_linear_model_never_beats_the_closed_form(linear_sklearn) -> None:
    case = linear_sklearn
    exact = case.minimal("linf")
    eps = float(np.quantile(exact[case.correct], 0.5))
    r = Square(eps=eps, queries=500).run(case.target, case.data, seed=0)
    succ = r.per_sample["success"]
    assert not succ[~case.correct | (exact > eps)].any()
    # random search finds the optimal corner for points comfortably inside the budget
    assert succ[case.correct & (exact < 0.8 * eps)].all()
