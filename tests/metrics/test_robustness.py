"""Metric functions on hand-checked arrays."""

from __future__ import annotations

import numpy as np

from aisec.metrics import attack_success_rate, perturbation_norms, robust_accuracy, wilson_interval


def test_robust_accuracy_and_success_rate() -> None:
    correct = np.array([True, True, True, False])
    success = np.array([True, False, False, False])
    assert robust_accuracy(correct, success) == 0.5
    assert attack_success_rate(correct, success) == 1 / 3


def test_norms() -> None:
    x = np.zeros((2, 1, 2, 2))
    xa = x.copy()
    xa[0, 0, 0, 0] = 0.3
    xa[0, 0, 1, 1] = -0.4
    n = perturbation_norms(x, xa)
    np.testing.assert_allclose(n["linf"], [0.4, 0.0])
    np.testing.assert_allclose(n["l2"], [0.5, 0.0])
    np.testing.assert_allclose(n["l1"], [0.7, 0.0])


def test_wilson_interval_contains_estimate_and_shrinks() -> None:
    lo, hi = wilson_interval(5, 10)
    assert lo < 0.5 < hi
    lo2, hi2 = wilson_interval(500, 1000)
    assert hi2 - lo2 < hi - lo
    assert wilson_interval(0, 10)[0] == 0.0
