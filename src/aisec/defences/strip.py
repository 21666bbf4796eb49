"""STRIP: a run-time detector of triggered inputs, by the entropy of superimposed copies.

Reference: Gao et al., "STRIP: A Defence Against Trojan Attacks on Deep Neural Networks",
ACSAC 2019, arXiv:1902.06531. Each input is superimposed on ``n_overlays`` clean images (their
sum, clipped to the input bounds, as in the paper: a weighted blend would halve the trigger's
contrast and, measured on digits, miss two thirds of triggered inputs); a clean
input's predictions then scatter over the classes (high entropy) while a triggered input keeps
the target class (low entropy). The threshold is the ``target_fpr`` quantile of the entropy of
clean calibration inputs; the false-positive rate is then measured on other clean inputs.
Models that reveal only labels get the entropy of the overlays' label histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aisec.targets.base import Capability, OutputMode
from aisec.targets.views import Classifier

ENTROPY_FLOOR = 1e-12
"""Smallest probability taken before the logarithm."""


@dataclass
class Strip:
    """A STRIP detector around one classifier and a pool of clean images."""

    model: Classifier
    """The deployed classifier."""
    pool: np.ndarray
    """Clean inputs to superimpose (held by the defender)."""
    n_overlays: int = 16
    """Clean images blended with each input."""
    seed: int = 0
    """Seed of the overlay draw."""
    threshold: float | None = None
    """Entropy below which an input is flagged (set by :meth:`calibrate`)."""

    def entropy(self, x: np.ndarray) -> np.ndarray:
        """Mean prediction entropy of each input over its overlays (nats)."""
        rng = np.random.default_rng(self.seed)
        picks = rng.integers(0, len(self.pool), size=(len(x), self.n_overlays))
        lo, hi = self.model.spec.bounds
        blended = np.clip(x[:, None] + self.pool[picks] - lo, lo, hi)
        flat = blended.reshape(len(x) * self.n_overlays, *x.shape[1:]).astype(np.float32)
        k = self.model.spec.n_classes
        if Capability.SCORES in self.model.capabilities:
            probs = self.model.with_output_mode(OutputMode.PROBABILITIES).predict(flat)
            probs = probs.reshape(len(x), self.n_overlays, k)
            ent = -(probs * np.log(np.clip(probs, ENTROPY_FLOOR, 1.0))).sum(-1)
            return ent.mean(1)
        labels = self.model.predict_labels(flat).reshape(len(x), self.n_overlays)
        hist = np.stack([(labels == c).mean(1) for c in range(k)], axis=1)
        return -(hist * np.log(np.clip(hist, ENTROPY_FLOOR, 1.0))).sum(1)

    def calibrate(self, clean: np.ndarray, target_fpr: float) -> float:
        """Set the threshold at the ``target_fpr`` quantile of clean inputs' entropy."""
        self.threshold = float(np.quantile(self.entropy(clean), target_fpr))
        return self.threshold

    def flags(self, x: np.ndarray) -> np.ndarray:
        """Which inputs look triggered (entropy below the calibrated threshold)."""
        if self.threshold is None:
            raise ValueError("calibrate the STRIP detector before flagging inputs")
        return self.entropy(x) < self.threshold
