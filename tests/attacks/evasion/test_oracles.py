"""Exact oracles on linear models (fixtures in conftest.py).

Minimum-norm attacks must find the closed-form minimal perturbation within a stated relative
tolerance, and never beat it; fixed-budget attacks must succeed exactly on the points whose
minimal perturbation is under the budget.
"""

from __future__ import annotations

import numpy as np
import pytest

from aisec.registry import get_test

# Relative tolerances above the exact minimum, per attack and norm.
TOLERANCE = {
    ("evasion.deepfool", "l2"): 0.025,  # one linear step, overshoot 0.02
    ("evasion.deepfool", "linf"): 0.025,
    ("evasion.fab", "l2"): 0.01,
    ("evasion.fab", "linf"): 0.01,
    ("evasion.cw", "l2"): 0.05,  # Adam oscillates around the kink of the hinge
    ("evasion.hsj", "l2"): 0.03,  # 10,000 label queries per point
    ("evasion.hsj", "linf"): 0.2,  # sign estimates of the small weights stay noisy
}
QUERIES = 10_000
FLOOR = 1e-3  # relative float32 slack below the exact minimum


def _ratios(case, result, norm: str) -> np.ndarray:
    exact = case.minimal(norm)[case.correct]
    found = result.per_sample["minimal_norm"][case.correct]
    assert result.per_sample["success"][case.correct].all(), "every correct point must be broken"
    return (found + 1e-6) / (exact + 1e-6)


@pytest.mark.parametrize(
    ("test_id", "norm", "params"),
    [
        ("evasion.deepfool", "l2", {}),
        ("evasion.deepfool", "linf", {}),
        ("evasion.fab", "l2", {"steps": 40}),
        ("evasion.fab", "linf", {"steps": 40}),
    ],
)
def test_white_box_minimum_norm_attacks_reach_the_closed_form(linear_torch, test_id, norm, params):
    result = get_test(test_id)(norm=norm, **params).run(
        linear_torch.target, linear_torch.data, seed=0
    )
    r = _ratios(linear_torch, result, norm)
    assert r.min() >= 1 - FLOOR
    assert r.max() <= 1 + TOLERANCE[(test_id, norm)], f"worst ratio {r.max():.4f}"


def test_cw_reaches_the_closed_form(linear_torch):
    idx = _subset_index(linear_torch, 20, 3)
    correct = linear_torch.correct[idx]
    data = linear_torch.data.subset(20, seed=3)
    attack = get_test("evasion.cw")(steps=300, binary_search_steps=5, lr=0.005, abort_early=False)
    result = attack.run(linear_torch.target, data, seed=0)
    found = result.per_sample["minimal_norm"][correct]
    r = (found + 1e-6) / (linear_torch.minimal("l2")[idx][correct] + 1e-6)
    assert result.per_sample["success"][correct].all()
    assert r.min() >= 1 - FLOOR
    assert np.median(r) <= 1.005
    assert r.max() <= 1 + TOLERANCE[("evasion.cw", "l2")], f"worst ratio {r.max():.4f}"


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_hsj_reaches_the_closed_form_on_logistic_regression(linear_sklearn, norm):
    idx = _subset_index(linear_sklearn, 24, 1)
    correct = linear_sklearn.correct[idx]
    data = linear_sklearn.data.subset(24, seed=1)
    result = get_test("evasion.hsj")(norm=norm, queries=QUERIES).run(
        linear_sklearn.target, data, seed=0
    )
    found = result.per_sample["minimal_norm"][correct]
    r = (found + 1e-6) / (linear_sklearn.minimal(norm)[idx][correct] + 1e-6)
    assert result.per_sample["success"][correct].all()
    assert r.min() >= 1 - FLOOR
    assert np.median(r) <= 1 + TOLERANCE[("evasion.hsj", norm)] / 2
    assert r.max() <= 1 + TOLERANCE[("evasion.hsj", norm)], f"worst ratio {r.max():.4f}"
    assert result.per_sample["queries"].max() <= QUERIES


def test_hsj_on_a_label_only_torch_view_matches_the_closed_form(linear_torch):
    data = linear_torch.data.subset(16, seed=2)
    idx = _subset_index(linear_torch, 16, 2)
    correct = linear_torch.correct[idx]
    target = linear_torch.target.with_output_mode("label_only")
    result = get_test("evasion.hsj")(norm="l2", queries=QUERIES).run(target, data, seed=0)
    r = (result.per_sample["minimal_norm"][correct] + 1e-6) / (
        linear_torch.minimal("l2")[idx][correct] + 1e-6
    )
    assert result.per_sample["success"][correct].all()
    assert r.min() >= 1 - FLOOR
    assert r.max() <= 1 + TOLERANCE[("evasion.hsj", "l2")]


def _subset_index(case, n: int, seed: int) -> np.ndarray:
    """The indices Dataset.subset(n, seed=seed) keeps."""
    idx = np.random.default_rng(seed).permutation(len(case.data))[:n]
    idx.sort()
    return idx


def _budgets(minimal: np.ndarray, k: int = 3) -> list[float]:
    """``k`` budgets between consecutive sorted minimal norms, each at least 1% from any point."""
    s = np.sort(minimal)
    out = []
    for q in np.linspace(0.2, 0.8, k):
        i = int(q * (len(s) - 1))
        while i + 1 < len(s) and s[i + 1] < s[i] * 1.02:
            i += 1
        out.append(float((s[i] + s[i + 1]) / 2))
    return out


@pytest.mark.parametrize(
    ("test_id", "norm", "params"),
    [
        ("evasion.pgd", "linf", {"steps": 30}),
        ("evasion.pgd", "l2", {"steps": 30, "random_start": False}),
        ("evasion.fgsm", "linf", {}),
        ("evasion.fgsm", "l2", {}),
    ],
)
def test_fixed_budget_attacks_succeed_exactly_below_the_minimal_norm(
    linear_torch, test_id, norm, params
):
    exact = linear_torch.minimal(norm)
    for eps in _budgets(exact[linear_torch.correct]):
        result = get_test(test_id)(norm=norm, eps=eps, **params).run(
            linear_torch.target, linear_torch.data, seed=0
        )
        expected = linear_torch.correct & (exact < eps)
        assert 0 < expected.sum() < linear_torch.correct.sum()
        np.testing.assert_array_equal(result.per_sample["success"], expected)


@pytest.mark.parametrize(("test_id", "norm"), [("evasion.deepfool", "l2"), ("evasion.fab", "linf")])
def test_minimum_norm_attacks_with_a_budget_succeed_exactly_below_it(linear_torch, test_id, norm):
    exact = linear_torch.minimal(norm)
    eps = _budgets(exact[linear_torch.correct], 1)[0]
    result = get_test(test_id)(norm=norm, eps=eps).run(
        linear_torch.target, linear_torch.data, seed=0
    )
    tol = TOLERANCE[(test_id, norm)]
    surely = linear_torch.correct & (exact * (1 + tol) < eps)
    never = ~linear_torch.correct | (exact > eps)
    succ = result.per_sample["success"]
    assert succ[surely].all()
    assert not succ[never].any()
    assert result.metrics["robust_accuracy"] == pytest.approx(np.mean(linear_torch.correct & ~succ))
