"""FAB: exact box-constrained projections, and the attack on the real digits CNN."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linprog, minimize

from aisec.attacks.evasion.deepfool import DeepFool
from aisec.attacks.evasion.fab import FAB, project_hyperplane_box


def _reference_norm(t: np.ndarray, w: np.ndarray, b: float, norm: str) -> float:
    """The optimal value of min ||d|| s.t. w.(t+d) = b, 0 <= t+d <= 1, by a generic solver."""
    n = len(t)
    bounds_d = list(zip(-t, 1 - t, strict=True))
    if norm == "l2":
        res = minimize(
            lambda d: d @ d,
            np.zeros(n),
            jac=lambda d: 2 * d,
            constraints=[{"type": "eq", "fun": lambda d: w @ (t + d) - b, "jac": lambda d: w}],
            bounds=bounds_d,
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        assert res.success
        return float(np.sqrt(res.fun))
    if norm == "linf":  # variables (d, s): minimise s with -s <= d_i <= s
        c = np.r_[np.zeros(n), 1.0]
        a_ub = np.block([[np.eye(n), -np.ones((n, 1))], [-np.eye(n), -np.ones((n, 1))]])
        res = linprog(
            c,
            a_ub,
            np.zeros(2 * n),
            np.r_[w, 0.0][None],
            [b - w @ t],
            bounds=[*bounds_d, (0, None)],
        )
    else:  # l1 with variables (d, u): minimise sum u with -u <= d <= u
        c = np.r_[np.zeros(n), np.ones(n)]
        a_ub = np.block([[np.eye(n), -np.eye(n)], [-np.eye(n), -np.eye(n)]])
        a_eq = np.r_[w, np.zeros(n)][None]
        res = linprog(
            c, a_ub, np.zeros(2 * n), a_eq, [b - w @ t], bounds=bounds_d + [(0, None)] * n
        )
    assert res.status == 0
    return float(res.fun)


@pytest.mark.parametrize("norm", ["l2", "linf", "l1"])
def test_projection_is_exact_inside_the_box(norm) -> None:
    rng = np.random.default_rng(0)
    n, rows = 6, 40
    t = rng.uniform(0, 1, (rows, n))
    w = rng.normal(size=(rows, n))
    w[::5, 0] = 0.0  # some zero weights
    # offsets reachable inside the box, many far enough that the box binds
    lo_v = np.minimum(w, 0).sum(1)
    hi_v = np.maximum(w, 0).sum(1)
    b = lo_v + rng.uniform(0.02, 0.98, rows) * (hi_v - lo_v)
    d = project_hyperplane_box(
        torch.as_tensor(t), torch.as_tensor(w), torch.as_tensor(b), 0.0, 1.0, norm
    ).numpy()
    np.testing.assert_allclose(((t + d) * w).sum(1), b, atol=1e-9)
    assert (t + d >= -1e-12).all() and (t + d <= 1 + 1e-12).all()
    ord_ = {"l2": 2, "linf": np.inf, "l1": 1}[norm]
    for i in range(rows):
        ref = _reference_norm(t[i], w[i], b[i], norm)
        assert np.linalg.norm(d[i], ord_) == pytest.approx(ref, rel=1e-5, abs=1e-8)


def test_projection_returns_the_nearest_corner_when_the_plane_is_out_of_reach() -> None:
    t = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    w = torch.tensor([[1.0, -2.0]], dtype=torch.float64)
    d = project_hyperplane_box(t, w, torch.tensor([5.0], dtype=torch.float64), 0.0, 1.0, "l2")
    np.testing.assert_allclose((t + d).numpy(), [[1.0, 0.0]])


@pytest.fixture(scope="module")
def data(digits_small):
    return digits_small.subset(40, seed=2)


@pytest.mark.parametrize("norm", ["linf", "l2", "l1"])
def test_breaks_every_point_within_bounds(norm, digits_cnn, data) -> None:
    r = FAB(norm=norm, steps=50).run(digits_cnn, data, seed=0)
    correct, success = r.per_sample["clean_correct"], r.per_sample["success"]
    assert success[correct].all()
    x_adv = r.artifacts["x_adv"]
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert (digits_cnn.predict_labels(x_adv[success]) != data.y[success]).all()


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_finds_smaller_perturbations_than_deepfool(norm, digits_cnn, data) -> None:
    fab = FAB(norm=norm).run(digits_cnn, data, seed=0).per_sample["minimal_norm"]
    df = DeepFool(norm=norm).run(digits_cnn, data, seed=0).per_sample["minimal_norm"]
    correct = fab > 0
    assert np.median(fab[correct]) < np.median(df[correct])
    assert np.mean(fab[correct] <= df[correct] * 1.001) >= 0.75


def test_restarts_never_make_the_minimal_norm_larger(digits_cnn, data) -> None:
    data = data.subset(20, seed=0)
    one = FAB(norm="l2", steps=30).run(digits_cnn, data, seed=0).per_sample["minimal_norm"]
    three = (
        FAB(norm="l2", steps=30, restarts=3)
        .run(digits_cnn, data, seed=0)
        .per_sample["minimal_norm"]
    )
    assert (three <= one + 1e-6).all()
    assert (three < one - 1e-6).any()


def test_targeted_fab_reaches_the_target(digits_cnn, data) -> None:
    r = FAB(norm="l2", steps=50, targeted=True, target_class=6).run(digits_cnn, data, seed=0)
    success = r.per_sample["success"]
    attacked = r.per_sample["clean_correct"] & (data.y != 6)
    assert success.sum() >= 0.9 * attacked.sum()
    assert (digits_cnn.predict_labels(r.artifacts["x_adv"][success]) == 6).all()


def _fab_t(digits_cnn, data, eps):
    """FAB-T as the evaluation ensemble calls it: through `perturb`, without explicit targets."""
    x, y = torch.as_tensor(data.x), torch.as_tensor(data.y)
    fab = FAB(targeted=True, n_target_classes=3, steps=20, restarts=1, norm="linf")
    digits_cnn.reset_queries()
    adv = fab.perturb(digits_cnn, x, y, eps=eps, generator=torch.Generator().manual_seed(0)).x_adv
    return adv, digits_cnn.queries


def test_fab_t_stops_on_points_already_broken_within_eps(digits_cnn, data) -> None:
    eps = 0.15
    adv, spent = _fab_t(digits_cnn, data, eps)
    _, spent_free = _fab_t(digits_cnn, data, None)
    x = torch.as_tensor(data.x)
    norms = (adv - x).reshape(len(x), -1).abs().amax(1).numpy()
    broken = digits_cnn.predict_labels(adv.numpy()) != data.y
    assert broken.mean() > 0.5
    assert (norms[broken & (norms > 0)] > 0).all()
    assert (norms[broken] <= eps + 1e-6).mean() > 0.5
    assert spent < spent_free / 2
