"""Membership inference with aisec and ART on the same model, members and non-members.

The model is the built-in ``digits-mlp`` (an MLP fitted to digits' training split); members are
450 of its training records, non-members the 450 test records. Figures: AUC, TPR at 1% and
0.1% FPR with aisec's 95% bootstrap intervals, for

* aisec: the loss threshold, the shadow-model attack, LiRA and RMIA, with K reference models
  trained through the target's recipe in one stacked sweep;
* ART: the rule-based attack (``MembershipInferenceBlackBoxRuleBased``), the supervised black-box
  attack (``MembershipInferenceBlackBox``, trained on half of the members and non-members and
  scored on the other half, as in ART's examples) and the shadow-model attack (``ShadowModels``
  with K shadow models of the same architecture, epochs and batch size, then
  ``MembershipInferenceBlackBox`` on the shadow data).

The wall time of the reference-model sweep is compared for the same K and training settings.
Run (peers in their own environment, see docs/benchmarks.md):

    python benchmarks/membership_vs_art.py [K]
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from typing import Any

os.environ["AISEC_CACHE_DIR"] = tempfile.mkdtemp(prefix="aisec-bench-")  # time real training

import numpy as np
import torch

from aisec.attacks.inference.membership import (
    MembershipInference,
    membership_data,
)
from aisec.attacks.inference.references import reference_sweep
from aisec.data import load_builtin
from aisec.data.splits import TEST, TRAIN, Splits
from aisec.metrics.privacy import privacy_figures
from aisec.targets import load_builtin_target
from aisec.targets.builtin.tabular import DIGITS_MLP
from aisec.targets.views import trainable

K = int(sys.argv[1]) if len(sys.argv) > 1 else 8


def _row(tool: str, attack: str, member: np.ndarray, non: np.ndarray, note: str = "") -> None:
    f = privacy_figures(member, non, n_bootstrap=200, seed=0)
    print(
        f"{tool:6} {attack:26} {f.auc:6.3f} [{f.auc_ci[0]:.3f},{f.auc_ci[1]:.3f}] "
        f"{f.tpr_at_1pct_fpr:6.3f} [{f.tpr_at_1pct_fpr_ci[0]:.3f},{f.tpr_at_1pct_fpr_ci[1]:.3f}] "
        f"{f.tpr_at_01pct_fpr:6.3f} [{f.tpr_at_01pct_fpr_ci[0]:.3f},"
        f"{f.tpr_at_01pct_fpr_ci[1]:.3f}] {note}"
    )


def _art_classifier(model: torch.nn.Module) -> Any:
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(
        model=model,
        loss=torch.nn.CrossEntropyLoss(),
        optimizer=torch.optim.Adam(model.parameters(), lr=DIGITS_MLP.lr),
        input_shape=(1, 8, 8),
        nb_classes=10,
        clip_values=(0.0, 1.0),
    )


def main() -> None:
    torch.set_num_threads(1)
    target = load_builtin_target("digits-mlp")
    data = Splits({TRAIN: load_builtin("digits:train"), TEST: load_builtin("digits:test")})
    split = membership_data(data, 2000, 0, "benchmark")
    n = len(split.members)
    print(f"digits-mlp: {n} members, {len(split.non_members)} non-members, K={K} references")
    header = "tool   attack                     AUC    [95% CI]       TPR@1%  [95% CI]      "
    print(header + " TPR@0.1% [95% CI]")

    # aisec: one stacked sweep (timed), then every attack on it
    view = trainable(target, "benchmark")
    aux = split.aux
    assert aux is not None
    start = time.perf_counter()
    reference_sweep(view, split.pool_x, split.pool_y, aux.x, aux.y, K, 0)
    aisec_sweep = time.perf_counter() - start
    for attack in ("loss", "shadow", "lira", "rmia"):
        r = MembershipInference(attack=attack, references=K).run(target, data, seed=0)
        s = r.per_sample["score"]
        _row("aisec", attack, s[:n], s[n:])
    half = n // 2
    r = MembershipInference(attack="lira", references=K).run(target, data, seed=0)
    s = r.per_sample["score"]
    _row(
        "aisec", "lira (second halves)", s[half:n], s[n + half :], "same points as ART's black-box"
    )

    try:
        from art.attacks.inference.membership_inference import (
            MembershipInferenceBlackBox,
            MembershipInferenceBlackBoxRuleBased,
            ShadowModels,
        )
    except ModuleNotFoundError:
        print("ART is not installed here: pip install 'aisec[bench]'")
        return
    art_target = _art_classifier(target.model)
    mx, my = split.members.x, split.members.y
    nx, ny = split.non_members.x, split.non_members.y
    rule = MembershipInferenceBlackBoxRuleBased(art_target)
    _row("ART", "rule-based", rule.infer(mx, my).astype(float), rule.infer(nx, ny).astype(float))
    for kind in ("rf", "nn"):
        bb = MembershipInferenceBlackBox(art_target, attack_model_type=kind)
        bb.fit(mx[:half], my[:half], nx[:half], ny[:half])
        pm = bb.infer(mx[half:], my[half:], probabilities=True).ravel()
        pn = bb.infer(nx[half:], ny[half:], probabilities=True).ravel()
        _row("ART", f"black-box ({kind}, supervised)", pm, pn, "trained on true memberships")

    # ART's shadow models: same architecture, epochs, batch size; K models on the pool
    template = _art_classifier(DIGITS_MLP.make())
    shadow = ShadowModels(template, num_shadow_models=K, random_state=0)
    for model in shadow.get_shadow_models():
        # ShadowModels calls fit(x, y) with ART's defaults (10 epochs, batch 128); give every
        # shadow model the recipe's epochs and batch size instead
        model.fit = functools.partial(
            model.fit, nb_epochs=DIGITS_MLP.epochs, batch_size=DIGITS_MLP.batch_size
        )
    pool_x = np.concatenate([aux.x, split.pool_x])
    pool_y = np.concatenate([aux.y, split.pool_y])
    # 75% of the pool: each shadow model trains on as many records as aisec's references
    ratio = (len(aux) + n) / len(pool_x)
    start = time.perf_counter()
    shadow_data = shadow.generate_shadow_dataset(pool_x, np.eye(10)[pool_y], member_ratio=ratio)
    art_sweep = time.perf_counter() - start
    (smx, smy, smp), (snx, sny, snp) = shadow_data
    bb = MembershipInferenceBlackBox(art_target, attack_model_type="rf")
    bb.fit(smx, smy, snx, sny, smp, snp)
    pm = bb.infer(mx, my, probabilities=True).ravel()
    pn = bb.infer(nx, ny, probabilities=True).ravel()
    _row("ART", f"shadow models (K={K})", pm, pn)
    print()
    size = len(aux) + n
    print(
        f"reference sweep, K={K} models of {size} records, {DIGITS_MLP.epochs} epochs, "
        f"batch {DIGITS_MLP.batch_size}, Adam lr {DIGITS_MLP.lr}:"
    )
    print(f"  aisec (stacked) {aisec_sweep:7.1f} s")
    print(f"  ART ShadowModels {art_sweep:6.1f} s   ratio aisec/ART {aisec_sweep / art_sweep:.2f}")


if __name__ == "__main__":
    main()
