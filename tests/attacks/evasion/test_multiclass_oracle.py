"""Minimum-norm attacks on a 10-class linear model whose box constraint binds.

The model is scikit-learn's multinomial logistic regression on the digits, copied into a torch
``Linear`` layer; inputs live in [0, 1] and the smallest L2 perturbation of most points leaves
that box if unconstrained, so the exact minimum is a box-constrained problem. The oracle solves
it with SciPy's SLSQP, independently of aisec's own projection code: a point is misclassified
exactly when some class ``j`` scores at least as high as the true class, so the minimum is the
smallest over ``j`` of the distance to the half-space ``f_j >= f_y`` inside the box (a convex
quadratic programme each).

The same model with a final softmax returns probabilities; the attacks must reach the same
minimum on it (the target takes the logarithm of detected probabilities).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from torch import nn

from aisec.data.dataset import Dataset
from aisec.registry import get_test
from aisec.targets.base import InputSpec
from aisec.targets.torch import TorchClassifier

N_TEST = 40


def _box_qp(x: np.ndarray, a: np.ndarray, need: float) -> float:
    """Smallest ||d||_2 with a . d >= need and 0 <= x + d <= 1 (SLSQP)."""
    res = minimize(
        lambda d: d @ d,
        np.zeros_like(x),
        jac=lambda d: 2 * d,
        constraints=[{"type": "ineq", "fun": lambda d: a @ d - need, "jac": lambda d: a}],
        bounds=list(zip(-x, 1 - x, strict=True)),
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    return float(np.sqrt(res.x @ res.x)) if a @ res.x >= need - 1e-9 else np.inf


@pytest.fixture(scope="module")
def case():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    clf = LogisticRegression(max_iter=3000).fit(x[:1200], y[:1200])
    w, b = clf.coef_.astype(np.float64), clf.intercept_.astype(np.float64)
    xt, yt = x[1200 : 1200 + N_TEST], y[1200 : 1200 + N_TEST]
    correct = clf.predict(xt) == yt
    exact = np.zeros(N_TEST)
    unconstrained = np.zeros(N_TEST)
    for i in np.flatnonzero(correct):
        xi, c = xt[i].astype(np.float64), yt[i]
        f = w @ xi + b
        others = [j for j in range(10) if j != c]
        exact[i] = min(_box_qp(xi, w[j] - w[c], f[c] - f[j]) for j in others)
        unconstrained[i] = min((f[c] - f[j]) / np.linalg.norm(w[j] - w[c]) for j in others)
    data = Dataset(xt.reshape(-1, 1, 8, 8), yt.astype(np.int64), name="digits-tail")
    return w, b, data, correct, exact, unconstrained


def _target(w: np.ndarray, b: np.ndarray, softmax: bool) -> TorchClassifier:
    layers: list[nn.Module] = [nn.Flatten(), nn.Linear(64, 10)]
    if softmax:
        layers.append(nn.Softmax(dim=1))
    model = nn.Sequential(*layers)
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor(w))
        model[1].bias.copy_(torch.tensor(b))
    spec = InputSpec(shape=(1, 8, 8), n_classes=10, bounds=(0.0, 1.0))
    return TorchClassifier(model.eval(), spec, name="logreg")


def test_the_box_binds_so_the_oracle_is_not_the_textbook_formula(case) -> None:
    *_, correct, exact, unconstrained = case
    assert correct.sum() >= 30
    assert np.mean(exact[correct] > unconstrained[correct] * 1.01) > 0.5


@pytest.mark.parametrize("softmax", [False, True], ids=["logits", "softmax"])
@pytest.mark.parametrize("test_id", ["evasion.fab", "evasion.deepfool"])
def test_minimum_norm_l2_reaches_the_box_constrained_minimum(case, test_id, softmax) -> None:
    w, b, data, correct, exact, _ = case
    result = get_test(test_id)(norm="l2").run(_target(w, b, softmax), data, seed=0)
    found = result.per_sample["minimal_norm"][correct]
    ratio = found / exact[correct]
    assert result.per_sample["success"][correct].all()
    assert ratio.min() >= 1 - 1e-3, "no attack can beat the exact minimum"
    assert np.median(ratio) <= 1.01
    limit = 1.05 if test_id == "evasion.fab" else 1.10  # DeepFool: one linear step, no box search
    assert ratio.max() <= limit, f"worst ratio {ratio.max():.4f}"


def test_a_final_softmax_is_detected_and_described(case) -> None:
    w, b, data, *_ = case
    plain, soft = _target(w, b, False), _target(w, b, True)
    x = torch.as_tensor(data.x[:4])
    torch.testing.assert_close(
        soft.logits(x) - soft.logits(x)[:, :1], plain.logits(x) - plain.logits(x)[:, :1]
    )
    assert soft.describe()["model_outputs"] == "probabilities"
    assert plain.describe()["model_outputs"] == "logits"


def test_declared_logits_are_taken_as_they_come(case) -> None:
    w, b, data, *_ = case
    soft = _target(w, b, True)
    raw = TorchClassifier(soft.model, soft.spec, outputs="logits")
    out = raw.logits(torch.as_tensor(data.x[:4]))
    torch.testing.assert_close(out.sum(1), torch.ones(4))
