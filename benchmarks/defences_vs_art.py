"""Adversarial training and randomized-smoothing certification with aisec and ART, side by side.

Same architecture (``digits-cnn``), data (digits' training split; 200 test points), seed and
settings:

* PGD adversarial training (Madry et al.): L-inf eps 0.1, 10 steps of 0.025, one random start,
  every batch replaced by its adversarial examples, Adam lr 1e-3, batch 64, E epochs. aisec:
  ``aisec.defences.hardening.train_hardened`` (uncached); ART 1.20:
  ``AdversarialTrainerMadryPGD``. Both models are then evaluated by the same attack (aisec's
  AutoAttack ensemble, fast preset), with 95% Wilson intervals.
* Randomized smoothing (Cohen et al.): one noise-trained base model (sigma 0.25), CERTIFY with
  n0 = 100, n = 1000, alpha = 0.001 on the same 100 points. aisec:
  ``aisec.defences.smoothing.certify``; ART: ``PyTorchRandomizedSmoothing.certify``.

Run (peers in their own environment, see docs/benchmarks.md):

    python benchmarks/defences_vs_art.py [EPOCHS]
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from typing import Any

os.environ["AISEC_CACHE_DIR"] = tempfile.mkdtemp(prefix="aisec-bench-")

import numpy as np
import torch

from aisec.attacks.evasion.ensemble import Ensemble
from aisec.data import load_builtin
from aisec.defences.hardening import HardeningSettings, harden, train_hardened
from aisec.defences.smoothing import certify
from aisec.targets.builtin.digits import DIGITS_CNN_RECIPE, make_digits_cnn

EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
EPS, STEPS, STEP = 0.1, 10, 0.025
SIGMA, N0, N, ALPHA = 0.25, 100, 1000, 0.001
RADII = (0.0, 0.25, 0.5)


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of k successes out of n."""
    if n == 0:
        return (0.0, 1.0)
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def robust(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, str]:
    target = DIGITS_CNN_RECIPE.deploy(module.eval())
    clean = target.predict_labels(x.numpy()) == y.numpy()
    adv = Ensemble(preset="fast").perturb(
        target, x, y, eps=EPS, norm="linf", generator=torch.Generator().manual_seed(0)
    )
    ok = clean & (target.predict_labels(adv.x_adv.numpy()) == y.numpy())
    lo, hi = wilson(int(ok.sum()), len(ok))
    return float(clean.mean()), float(ok.mean()), f"[{lo:.3f}, {hi:.3f}]"


def art_training(x: np.ndarray, y: np.ndarray) -> tuple[torch.nn.Module, float]:
    from art.defences.trainer import AdversarialTrainerMadryPGD
    from art.estimators.classification import PyTorchClassifier

    torch.manual_seed(0)
    model = make_digits_cnn()
    clf = PyTorchClassifier(
        model=model,
        loss=torch.nn.CrossEntropyLoss(),
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        input_shape=(1, 8, 8),
        nb_classes=10,
        clip_values=(0.0, 1.0),
        device_type="cpu",
    )
    trainer = AdversarialTrainerMadryPGD(
        clf,
        nb_epochs=EPOCHS,
        batch_size=64,
        eps=EPS,
        eps_step=STEP,
        max_iter=STEPS,
        num_random_init=1,
    )
    start = time.perf_counter()
    trainer.fit(x, y)
    return clf.model, time.perf_counter() - start


def art_certify(module: torch.nn.Module, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    from art.estimators.certification.randomized_smoothing import PyTorchRandomizedSmoothing

    rs = PyTorchRandomizedSmoothing(
        model=module,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(1, 8, 8),
        nb_classes=10,
        sample_size=N0,
        scale=SIGMA,
        alpha=ALPHA,
        device_type="cpu",
    )
    start = time.perf_counter()
    labels, radii = rs.certify(x, n=N, batch_size=1000)
    return np.asarray(labels), np.asarray(radii), time.perf_counter() - start


def certified(labels: np.ndarray, radii: np.ndarray, y: np.ndarray) -> list[str]:
    out = []
    for r in RADII:
        ok = (labels == y) & (radii >= r)
        lo, hi = wilson(int(ok.sum()), len(ok))
        out.append(f"{ok.mean():.3f} [{lo:.3f}, {hi:.3f}]")
    return out


def main() -> None:
    torch.set_num_threads(1)
    train, test = load_builtin("digits:train"), load_builtin("digits:test")
    x, y = torch.as_tensor(test.x[:200]), torch.as_tensor(test.y[:200])
    settings = HardeningSettings(
        method="pgd-at", eps=EPS, steps=STEPS, step_size=STEP, epochs=EPOCHS
    ).resolved(DIGITS_CNN_RECIPE)
    print(f"PGD adversarial training, digits-cnn, {EPOCHS} epochs, linf {EPS}, {STEPS} steps")
    start = time.perf_counter()
    ours, _ = train_hardened(DIGITS_CNN_RECIPE, train.x, train.y, 0, settings)
    t_ours = time.perf_counter() - start
    theirs, t_art = art_training(train.x, train.y)
    print(f"{'tool':6} {'train s':>8} {'clean':>6} {'robust (ensemble fast) [95% CI]':>32}")
    results: dict[str, Any] = {}
    for tool, module, seconds in (("aisec", ours, t_ours), ("ART", theirs, t_art)):
        clean, rob, ci = robust(module, x, y)
        results[tool] = seconds
        print(f"{tool:6} {seconds:8.1f} {clean:6.3f} {rob:8.3f} {ci}")
    print(f"training time ratio aisec/ART: {t_ours / t_art:.2f}x")

    print(f"\nRandomized smoothing, sigma {SIGMA}, n0 {N0}, n {N}, alpha {ALPHA}, 100 points")
    base = harden(
        DIGITS_CNN_RECIPE, train.x, train.y, 0, HardeningSettings(method="noise", sigma=SIGMA)
    )
    xc, yc = test.x[:100], test.y[:100]
    start = time.perf_counter()
    certs = certify(base.target, xc, SIGMA, n0=N0, n=N, alpha=ALPHA, seed=0)
    t_c = time.perf_counter() - start
    art_labels, art_radii, t_a = art_certify(base.module, xc)
    head = "  ".join(f"{'at r=' + str(r):>22}" for r in RADII)
    print(f"{'tool':6} {'seconds':>8}  {head}")
    for tool, labels, radii, seconds in (
        ("aisec", certs.labels, certs.radii, t_c),
        ("ART", art_labels, art_radii, t_a),
    ):
        print(
            f"{tool:6} {seconds:8.1f}  "
            + "  ".join(f"{c:>22}" for c in certified(labels, radii, yc))
        )
    agree = float(np.mean(np.abs(certs.radii - art_radii) < 0.05))
    print(f"certification time ratio aisec/ART: {t_c / t_a:.2f}x; radii within 0.05: {agree:.0%}")


if __name__ == "__main__":
    main()
