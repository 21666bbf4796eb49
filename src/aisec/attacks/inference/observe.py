"""What a membership attacker reads from one answer: the true class's confidence.

Every output mode reduces to an estimate of ``p_y``, the probability the model gives the true
label, and to its logit scaling ``phi = log p_y - log(1 - p_y)``, which LiRA models as Gaussian
(Carlini et al. 2022, section IV.C). What each mode lets the attacker read:

- ``logits``: ``phi`` exactly, as ``z_y - logsumexp_{j != y} z_j`` (no rounding to 0 or 1);
- ``probabilities`` (rounded or not): ``p_y`` as revealed;
- ``top1_probability``: ``p_y`` when the top class is the true one, otherwise at most
  ``1 - p_top`` (spread over the other classes);
- ``label_only``: the share of ``n_augment`` noisy copies classified correctly (the
  augmentation attack of Choquette-Choo et al., ICML 2021), smoothed away from 0 and 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aisec.targets.base import OutputMode
from aisec.targets.views import Classifier

EPS = 1e-12


@dataclass(frozen=True)
class Observer:
    """How observations are drawn from a model (the same for the target and its references)."""

    n_augment: int = 16
    """Noisy copies per point in label-only mode."""
    noise: float = 0.05
    """Noise standard deviation of those copies, relative to the input range."""
    seed: int = 0
    """Seed of the copies' noise (the same noise for every model)."""

    def confidence(self, view: Classifier, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``phi`` per point, as the view's output mode reveals it."""
        mode = view.output_mode
        if mode is OutputMode.LABEL_ONLY:
            return self._label_only(view, x, y)
        out = np.asarray(view.predict(x), dtype=np.float64)
        rows = np.arange(len(y))
        if mode is OutputMode.LOGITS:
            z = out - out.max(axis=1, keepdims=True)
            others = z.copy()
            others[rows, y] = -np.inf
            return z[rows, y] - _logsumexp(others)
        if mode is OutputMode.TOP1_PROBABILITY:
            top = out.argmax(axis=1)
            p_top = out[rows, top]
            n_other = max(out.shape[1] - 1, 1)
            p = np.where(top == y, p_top, (1.0 - p_top) / n_other)
        else:
            p = out[rows, y]
        p = np.clip(p, EPS, 1.0 - EPS)
        return np.log(p) - np.log1p(-p)

    def probability(self, view: Classifier, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``p_y`` per point (the sigmoid of :meth:`confidence`)."""
        return 1.0 / (1.0 + np.exp(-self.confidence(view, x, y)))

    def queries_per_point(self, mode: OutputMode) -> int:
        """Queries one observation costs in ``mode``."""
        return self.n_augment + 1 if mode is OutputMode.LABEL_ONLY else 1

    def _label_only(self, view: Classifier, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        lo, hi = view.spec.bounds
        rng = np.random.default_rng(self.seed)
        noise = rng.normal(0.0, self.noise * (hi - lo), (self.n_augment, *x.shape))
        copies = np.clip(x[None] + noise, lo, hi).astype(x.dtype)
        batch = np.concatenate([x[None], copies]).reshape(-1, *x.shape[1:])
        labels = np.asarray(view.predict(batch)).reshape(self.n_augment + 1, len(x))
        share = ((labels == y[None]).sum(axis=0) + 0.5) / (self.n_augment + 2)
        return np.log(share) - np.log1p(-share)


def _logsumexp(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True))).ravel()
