"""Backdoor forensics and poison detection with aisec and ART on the same models and data.

* Trigger reverse-engineering (Neural Cleanse) on the built-in ``digits-cnn-backdoor`` (a
  BadNets backdoor: 2x2 corner patch, target 7, 5% poisons) and the clean ``digits-cnn``, with
  200 clean test images: verdict, suspected class, anomaly index and wall time.
* Activation clustering and spectral signatures on the backdoored model's poisoned training
  set: poison precision, recall and wall time.

ART's Neural Cleanse is run where ART offers it for PyTorch models; where it does not, the row
says so. Run (peers in their own environment, see docs/benchmarks.md):

    python benchmarks/backdoor_vs_art.py
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from aisec.data import load_builtin
from aisec.defences import activation_clustering, detection_scores, spectral_signatures
from aisec.forensics.backdoor_scan import ScanSettings, scan_model
from aisec.targets import load_builtin_target
from aisec.targets.builtin.digits import backdoored_digits_training_set


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _art_classifier(model: torch.nn.Module) -> Any:
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(
        model=model,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(1, 8, 8),
        nb_classes=10,
        clip_values=(0.0, 1.0),
    )


def scans(clean: Any) -> None:
    print("Backdoor scan (200 clean digits, Neural Cleanse)")
    print(f"{'model':22} {'tool':6} {'verdict':>10} {'class':>6} {'index':>6} {'seconds':>8}")
    for name in ("digits-cnn-backdoor", "digits-cnn"):
        target = load_builtin_target(name)
        (o, _), secs = _timed(
            lambda t=target: scan_model(t, clean, ScanSettings(strip=False), seed=0)
        )
        verdict = "backdoor" if o.backdoored else "clean"
        print(f"{name:22} {'aisec':6} {verdict:>10} {o.target_class!s:>6} "
              f"{o.anomaly_index:6.2f} {secs:8.1f}")  # fmt: skip
        try:
            from art.defences.transformer.poisoning import NeuralCleanse

            classifier = _art_classifier(target.model)
            defence = NeuralCleanse(classifier)
            (cleansed, art_secs) = _timed(
                lambda c=classifier, d=defence: d(c, steps=400, init_cost=1e-3, norm=1)
            )
            flagged, _, _ = cleansed.outlier_detection(clean.x, np.eye(10)[clean.y])
            print(f"{'':22} {'ART':6} {bool(flagged)!s:>10} {flagged!s:>6} "
                  f"{'':>6} {art_secs:8.1f}  ratio {secs / art_secs:.2f}")  # fmt: skip
        except Exception as exc:  # ART's Neural Cleanse may not support PyTorch models
            print(f"{'':22} {'ART':6} not run: {type(exc).__name__}: {str(exc)[:90]}")


def detections() -> None:
    x, y, idx = backdoored_digits_training_set()
    poisoned = np.isin(np.arange(len(x)), idx)
    target = load_builtin_target("digits-cnn-backdoor")
    print("\nPoison detection on the backdoored training set (67 poisons of 1347)")
    print(f"{'method':24} {'tool':6} {'flagged':>8} {'precision':>9} {'recall':>7} {'seconds':>8}")
    features, feat_secs = _timed(lambda: target.representations(x))
    rows = {
        "activation-clustering": lambda: activation_clustering(features, y, seed=0),
        "spectral-signatures": lambda: spectral_signatures(features, y),
    }
    ours: dict[str, float] = {}
    for method, fn in rows.items():
        flagged, secs = _timed(fn)
        secs += feat_secs
        ours[method] = secs
        p, r = detection_scores(flagged, poisoned)
        print(f"{method:24} {'aisec':6} {int(flagged.sum()):8d} {p:9.3f} {r:7.3f} {secs:8.2f}")
    try:
        from art.defences.detector.poison import ActivationDefence, SpectralSignatureDefense
    except ImportError as exc:
        print(f"ART not installed: {exc}")
        return
    onehot = np.eye(10)[y]
    art_rows = {
        "activation-clustering": lambda: ActivationDefence(
            _art_classifier(target.model), x, onehot
        ).detect_poison(nb_clusters=2, nb_dims=10, reduce="PCA"),
        "spectral-signatures": lambda: SpectralSignatureDefense(
            _art_classifier(target.model), x, onehot, expected_pp_poison=0.33, eps_multiplier=1.5
        ).detect_poison(),
    }
    for method, fn in art_rows.items():
        (_, is_clean), secs = _timed(fn)
        flagged = np.asarray(is_clean) == 0
        p, r = detection_scores(flagged, poisoned)
        print(f"{method:24} {'ART':6} {int(flagged.sum()):8d} {p:9.3f} {r:7.3f} {secs:8.2f}"
              f"  aisec/ART time {ours[method] / secs:.2f}")  # fmt: skip


def main() -> None:
    torch.set_num_threads(1)
    clean = load_builtin("digits:test").subset(200, seed=0)
    scans(clean)
    detections()


if __name__ == "__main__":
    main()
