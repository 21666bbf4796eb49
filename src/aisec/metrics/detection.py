"""Attack success corrected for the error of the detector that scored it.

A detector with sensitivity ``se`` and specificity ``sp`` turns a true success rate ``p`` into
an observed rate ``q = p·se + (1 − p)(1 − sp)``. The Rogan-Gladen estimator inverts that,
``p = (q + sp − 1) / (se + sp − 1)``, clipped to [0, 1]. Its interval comes from a parametric
bootstrap over all three sources of error: the probes (binomial), and the detector's sensitivity
and specificity as measured on labelled data (Beta posteriors under Jeffreys' prior, so that a
detector with no observed errors still carries the uncertainty of a finite labelled set).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectorError:
    """A detector's confusion counts on labelled data, and the rates they give."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def positives(self) -> int:
        """Labelled positives."""
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        """Labelled negatives."""
        return self.tn + self.fp

    @property
    def sensitivity(self) -> float:
        """Recall: share of true positives flagged (1 when there are no positives)."""
        return self.tp / self.positives if self.positives else 1.0

    recall = sensitivity

    @property
    def specificity(self) -> float:
        """Share of true negatives left unflagged (1 when there are no negatives)."""
        return self.tn / self.negatives if self.negatives else 1.0

    @property
    def precision(self) -> float:
        """Share of flags that are right (1 when nothing was flagged)."""
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else 1.0

    @classmethod
    def of(cls, truth: np.ndarray, flagged: np.ndarray) -> DetectorError:
        """Counts from labels and verdicts."""
        t = np.asarray(truth, dtype=bool)
        f = np.asarray(flagged, dtype=bool)
        return cls(
            int((t & f).sum()), int((~t & f).sum()), int((~t & ~f).sum()), int((t & ~f).sum())
        )


@dataclass(frozen=True)
class CorrectedRate:
    """An attack success rate as observed and as corrected for detector error."""

    observed: float
    """Share of scored replies the detector flagged."""
    corrected: float
    """Rogan-Gladen estimate of the true rate."""
    low: float
    """Lower end of the bootstrap interval of ``corrected``."""
    high: float
    """Upper end."""
    n: int
    """Replies scored."""
    correctable: bool = True
    """False when the detector is no better than chance (se + sp ≤ 1): nothing is corrected."""


def rogan_gladen(observed: float, sensitivity: float, specificity: float) -> float:
    """The true rate behind ``observed`` for a detector of the given error, clipped to [0, 1]."""
    youden = sensitivity + specificity - 1.0
    if youden <= 0:
        raise ValueError("a detector with sensitivity + specificity <= 1 cannot be corrected for")
    return float(np.clip((observed + specificity - 1.0) / youden, 0.0, 1.0))


def corrected_rate(
    hits: int,
    n: int,
    error: DetectorError,
    *,
    level: float = 0.95,
    draws: int = 4000,
    seed: int = 0,
) -> CorrectedRate:
    """Rogan-Gladen estimate of a success rate from ``hits`` of ``n`` flagged replies.

    With ``n == 0`` every figure is NaN: nothing reached the model, so nothing is claimed.
    """
    if n == 0:
        nan = float("nan")
        return CorrectedRate(nan, nan, nan, nan, 0)
    observed = hits / n
    se, sp = error.sensitivity, error.specificity
    if se + sp <= 1.0:
        return CorrectedRate(observed, observed, float("nan"), float("nan"), n, correctable=False)
    rng = np.random.default_rng(seed)
    q = rng.beta(hits + 0.5, n - hits + 0.5, draws)
    se_d = rng.beta(error.tp + 0.5, error.fn + 0.5, draws)
    sp_d = rng.beta(error.tn + 0.5, error.fp + 0.5, draws)
    youden = np.maximum(se_d + sp_d - 1.0, 1e-6)
    p = np.clip((q + sp_d - 1.0) / youden, 0.0, 1.0)
    alpha = (1.0 - level) / 2
    low, high = np.quantile(p, [alpha, 1.0 - alpha])
    return CorrectedRate(observed, rogan_gladen(observed, se, sp), float(low), float(high), n)
