"""Adversarial and noise training through the recipe: robust accuracy under the ensemble at
the training budget rises by a clear margin, at a measured clean-accuracy cost; smoothing
certificates of a noise-trained network hold against aisec's own L2 attacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aisec.attacks.evasion.pgd import PGD
from aisec.data import load_builtin
from aisec.data.splits import Splits
from aisec.defences.evasion_evaluation import EvasionDefences
from aisec.defences.hardening import HardeningSettings, harden
from aisec.defences.preprocessing import Preprocessed, Preprocessor
from aisec.defences.smoothing import ABSTAIN, certify, predict
from aisec.errors import ParameterError, TargetError
from aisec.targets.builtin.tabular import DIGITS_MLP


@pytest.fixture(scope="module")
def mlp_splits() -> Splits:
    return Splits({"train": load_builtin("digits:train"), "test": load_builtin("digits:test")})


@pytest.fixture(scope="module")
def recipe():
    return DIGITS_MLP.recipe()


def test_adversarial_training_buys_robustness_at_a_measured_cost(recipe, mlp_splits) -> None:
    undefended = harden(  # the same architecture and epochs, trained on noise-free data
        recipe,
        mlp_splits["train"].x,
        mlp_splits["train"].y,
        0,
        HardeningSettings(method="noise", sigma=1e-6, epochs=20),
    ).target
    test = EvasionDefences(defences=["pgd-at", "trades"], epochs=20, limit=100, eps=0.15)
    r = test.run(undefended, mlp_splits, seed=0)
    assert r.ok, r.message
    rows = {row.defence: row for row in r.outcome.rows}
    base = rows["none"]
    assert base.clean_accuracy > 0.9 and base.robust_accuracy < 0.3
    for name in ("pgd-at", "trades"):
        row = rows[name]
        assert row.robust_accuracy >= base.robust_accuracy + 0.25, (name, row, base)
        assert base.clean_accuracy - row.clean_accuracy < 0.15  # measured, and bounded
        assert row.train_seconds > 0 and row.attack == "ensemble (fast)"
    assert r.outcome.best in ("pgd-at", "trades")
    findings = [f for f in test.findings(r) if f.rule == "HRD-001"]
    assert {f.evidence["defence"] for f in findings} == {"pgd-at", "trades"}
    assert all("robust accuracy" in f.title for f in findings)


def test_hardening_is_cached_and_records_its_training(recipe, mlp_splits) -> None:
    train = mlp_splits["train"]
    s = HardeningSettings(method="pgd-at", eps=0.1, steps=3, epochs=2)
    first = harden(recipe, train.x, train.y, 1, s)
    again = harden(recipe, train.x, train.y, 1, s)
    assert first.seconds == again.seconds and len(first.losses) == 2
    for a, b in zip(first.module.parameters(), again.module.parameters(), strict=True):
        assert torch.equal(a, b)
    assert first.record()["settings"]["step_size"] == pytest.approx(2.5 * 0.1 / 3)


def test_bad_hardening_settings_are_one_line_errors(recipe) -> None:
    with pytest.raises(ParameterError, match="unknown hardening method 'madry'"):
        HardeningSettings(method="madry")
    with pytest.raises(ParameterError, match="eps > 0"):
        HardeningSettings(eps=0.0)
    no_module = type(recipe)(recipe.name, recipe.train)
    x = np.zeros((4, 1, 8, 8), np.float32)
    with pytest.raises(TargetError, match="gives none"):
        harden(no_module, x, np.zeros(4, np.int64), 0, HardeningSettings())


def _gaussian() -> Preprocessor:
    def noisy(x, bounds, gen):
        return x + 0.25 * torch.randn(x.shape, generator=gen)

    return Preprocessor("gaussian", (("sigma", 0.25),), noisy, random=True, differentiable=True)


def test_smoothing_certificates_hold_against_l2_attacks(recipe, mlp_splits) -> None:
    train, test = mlp_splits["train"], mlp_splits["test"].subset(60, seed=0)
    base = harden(
        recipe, train.x, train.y, 0, HardeningSettings(method="noise", sigma=0.25, epochs=20)
    ).target
    certs = certify(base, test.x, 0.25, n=500, alpha=0.001, seed=0)
    radius = 0.3
    held = (certs.labels == test.y) & (certs.radii >= radius)
    assert held.sum() >= 20
    # EoT over the smoothing noise: the attack aims at the smoothed classifier itself
    smoothed = Preprocessed(base, _gaussian(), gradient="exact", samples=32, seed=5)
    x, y = torch.as_tensor(test.x[held]), torch.as_tensor(test.y[held])

    def flipped(eps: float) -> np.ndarray:
        adv = PGD(eps=eps, norm="l2", steps=40, restarts=2, loss="ce").perturb(
            smoothed, x, y, eps=eps, norm="l2", generator=torch.Generator().manual_seed(0)
        )
        assert float((adv.x_adv - x).flatten(1).norm(dim=1).max()) <= eps + 1e-4
        label = predict(base, adv.x_adv.numpy(), 0.25, n=1000, alpha=0.001, seed=3)
        return (label != ABSTAIN) & (label != y.numpy())

    assert not flipped(0.95 * radius).any()  # no certificate at radius r is broken below r
    assert flipped(8 * radius).mean() > 0.5  # the same attack is not toothless
