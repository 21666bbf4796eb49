"""Randomized smoothing's CERTIFY and PREDICT against closed forms on a linear classifier."""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import norm
from torch import nn

from aisec.defences.smoothing import ABSTAIN, certify, predict
from aisec.targets.base import InputSpec
from aisec.targets.torch import TorchClassifier

SIGMA = 0.5


def _linear(d: int = 10) -> tuple[TorchClassifier, np.ndarray, float]:
    # logit_1 - logit_0 = w.x + b: the smoothed classifier is the same half-space, and the top
    # class's probability under N(0, sigma^2) noise is Phi(|w.x + b| / (sigma ||w||))
    rng = np.random.default_rng(0)
    w, b = rng.normal(0, 1, d), 0.3
    layer = nn.Linear(d, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(np.stack([np.zeros(d), w]), dtype=torch.float32))
        layer.bias.copy_(torch.tensor([0.0, b], dtype=torch.float32))
    target = TorchClassifier(layer, InputSpec((d,), 2, bounds=(-10.0, 10.0)), name="linear")
    return target, w, b


def _points(w: np.ndarray, b: float, margins: np.ndarray) -> np.ndarray:
    # points at signed L2 distance ``margins`` from the decision boundary
    rng = np.random.default_rng(1)
    unit = w / np.linalg.norm(w)
    base = rng.normal(0, 1, (len(margins), len(w)))
    base -= np.outer(base @ unit + b / np.linalg.norm(w), unit)  # onto the boundary
    return (base + np.outer(margins, unit)).astype(np.float32)


def test_certified_radii_never_exceed_the_true_margin_and_match_the_closed_form() -> None:
    target, w, b = _linear()
    margins = np.linspace(-1.2, 1.2, 25)
    x = _points(w, b, margins)
    cert = certify(target, x, SIGMA, n0=100, n=20_000, alpha=0.001, seed=0)
    truth = (margins > 0).astype(int)
    done = cert.labels != ABSTAIN
    assert (cert.labels[done] == truth[done]).all()
    assert (cert.radii[done] <= np.abs(margins[done]) + 1e-9).all()
    # away from the boundary the bound is tight: the lower bound sits within the binomial
    # sampling slack of the exact probability Phi(|m| / sigma), and the radius with it
    far = np.abs(margins) > 0.3
    assert done[far].all()
    exact = norm.cdf(np.abs(margins[far]) / SIGMA)
    slack = 5 * np.sqrt(exact * (1 - exact) / cert.n)
    assert (cert.p_lower[far] <= exact + 1e-3).all()
    assert (cert.p_lower[far] >= exact - slack).all()
    assert (cert.radii[far] >= SIGMA * norm.ppf(exact - slack)).all()
    assert cert.accuracy_at(truth, 0.0) == done.mean()
    assert cert.accuracy_at(truth, 1.0) < cert.accuracy_at(truth, 0.5)


def test_predict_abstains_on_the_boundary_and_answers_away_from_it() -> None:
    target, w, b = _linear()
    x = _points(w, b, np.array([0.0, 0.0, 0.0, -1.0, 1.0]))
    labels = predict(target, x, SIGMA, n=2000, alpha=0.001, seed=0)
    assert (labels[:3] == ABSTAIN).all()
    assert labels[3] == 0 and labels[4] == 1
