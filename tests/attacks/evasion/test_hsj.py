"""HopSkipJump with labels only: query budgets, query accounting, budgets, curves, targets."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.attacks.evasion.hsj import HopSkipJump
from aisec.targets.base import Capability


@pytest.fixture(scope="module")
def data(digits_small):
    return digits_small.subset(30, seed=6)


@pytest.fixture(scope="module")
def label_only(digits_cnn):
    view = digits_cnn.with_output_mode("label_only")
    assert Capability.GRADIENTS not in view.capabilities
    assert Capability.SCORES not in view.capabilities
    return view


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_label_only_cnn_is_broken_within_the_query_budget(
    norm, label_only, digits_cnn, data
) -> None:
    budget = 600
    r = HopSkipJump(norm=norm, queries=budget).run(label_only, data, seed=0)
    correct, success = r.per_sample["clean_correct"], r.per_sample["success"]
    assert success[correct].all()
    q = r.per_sample["queries"]
    assert q.max() <= budget and r.metrics["queries"]["max"] <= budget
    assert (q[correct] == budget).all()  # without a budget eps it spends everything on shrinking
    assert (q[~correct] == 0).all()
    x_adv = r.artifacts["x_adv"]
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert (digits_cnn.predict_labels(x_adv[success]) != data.y[success]).all()


@pytest.mark.parametrize("budget", [1, 7, 40])
def test_tiny_budgets_are_never_exceeded(budget, label_only, data) -> None:
    r = HopSkipJump(queries=budget).run(label_only, data, seed=0)
    q, success = r.per_sample["queries"], r.per_sample["success"]
    correct = r.per_sample["clean_correct"]
    assert q.max() <= budget
    assert (q[correct] >= 1).all()
    x_adv = r.artifacts["x_adv"]
    unchanged = (x_adv == data.x).reshape(len(data), -1).all(1)
    assert (success | unchanged).all()  # whatever is returned is adversarial or the input


def test_every_query_is_accounted_for(label_only, data) -> None:
    r = HopSkipJump(queries=300).run(label_only, data, seed=0)
    correct = r.per_sample["clean_correct"]
    # clean predictions + the attack's queries + one re-scoring pass over the attacked points
    assert label_only.queries == len(data) + int(r.per_sample["queries"].sum()) + int(correct.sum())


def test_more_queries_give_smaller_perturbations(label_only, data) -> None:
    few = HopSkipJump(queries=200).run(label_only, data, seed=0).per_sample["minimal_norm"]
    many = HopSkipJump(queries=1500).run(label_only, data, seed=0).per_sample["minimal_norm"]
    ok = few > 0
    assert np.median(many[ok]) < 0.8 * np.median(few[ok])


def test_works_on_a_scikit_learn_classifier(digits_logreg, data) -> None:
    budget = 500
    r = HopSkipJump(queries=budget).run(digits_logreg, data, seed=0)
    correct, success = r.per_sample["clean_correct"], r.per_sample["success"]
    assert success[correct].all()
    assert r.per_sample["queries"].max() <= budget
    assert (digits_logreg.predict_labels(r.artifacts["x_adv"][success]) != data.y[success]).all()


def test_a_budget_eps_stops_early_and_bounds_the_norm(label_only, data) -> None:
    free = HopSkipJump(queries=1000).run(label_only, data, seed=0)
    eps = 2 * float(free.metrics["minimal_perturbation"]["median"])
    r = HopSkipJump(queries=1000, eps=eps).run(label_only, data, seed=0)
    success = r.per_sample["success"]
    assert success.mean() > 0.6
    assert (r.per_sample["l2"][success] <= eps * (1 + 1e-4) + 1e-7).all()
    assert (
        r.per_sample["queries"][success].mean() < 0.5 * free.per_sample["queries"][success].mean()
    )


def test_a_curve_keeps_the_per_sample_budget(label_only, data) -> None:
    budget = 400
    r = HopSkipJump(queries=budget, eps=3.0, curve=[0.5, 1.0, 2.0]).run(label_only, data, seed=0)
    assert r.per_sample["queries"].max() <= budget
    curve = [p["robust_accuracy"] for p in r.metrics["curve"]]
    assert curve == sorted(curve, reverse=True)
    assert curve[-1] < curve[0]


def test_targeted_hsj_reaches_the_target(label_only, digits_cnn, data) -> None:
    r = HopSkipJump(queries=400, targeted=True, target_class=5).run(label_only, data, seed=0)
    success = r.per_sample["success"]
    attacked = r.per_sample["clean_correct"] & (data.y != 5)
    assert success.sum() >= 0.9 * attacked.sum()
    assert (digits_cnn.predict_labels(r.artifacts["x_adv"][success]) == 5).all()
    assert r.per_sample["queries"].max() <= 400
