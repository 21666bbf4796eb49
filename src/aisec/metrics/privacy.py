"""Privacy metrics over attack scores: ROC, AUC, TPR at a low FPR, bootstrap intervals.

Membership scores are "higher means more likely a member". The low-FPR regime is what matters
for privacy (Carlini et al., "Membership Inference Attacks From First Principles", S&P 2022):
an attack that identifies a few members with near certainty is a breach even when its average
accuracy is close to chance, so every figure here is reported beside TPR at 1% and 0.1% FPR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Roc:
    """A ROC curve: false- and true-positive rates at every distinct threshold."""

    fpr: np.ndarray
    """False-positive rates, non-decreasing from 0 to 1."""
    tpr: np.ndarray
    """True-positive rates at the same thresholds."""


def roc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> Roc:
    """The ROC curve of scores (ties share one threshold), from (0, 0) to (1, 1)."""
    pos = np.asarray(member_scores, dtype=np.float64)
    neg = np.asarray(nonmember_scores, dtype=np.float64)
    scores = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    # The last index of every run of equal scores: one ROC point per distinct threshold.
    last = np.r_[np.flatnonzero(np.diff(scores) != 0), len(scores) - 1]
    tp = np.cumsum(labels)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / max(len(pos), 1)]
    fpr = np.r_[0.0, fp / max(len(neg), 1)]
    return Roc(fpr, tpr)


def auc(curve: Roc) -> float:
    """Area under a ROC curve (trapezoidal, so ties count one half)."""
    return float(np.sum(np.diff(curve.fpr) * (curve.tpr[1:] + curve.tpr[:-1]) / 2.0))


def tpr_at_fpr(curve: Roc, max_fpr: float) -> float:
    """The highest TPR at a threshold whose FPR is at most ``max_fpr``."""
    ok = curve.fpr <= max_fpr + 1e-12
    return float(curve.tpr[ok].max()) if ok.any() else 0.0


def balanced_accuracy(curve: Roc) -> float:
    """Best balanced accuracy over thresholds, ``max (TPR + 1 - FPR) / 2``."""
    return float(np.max((curve.tpr + 1.0 - curve.fpr) / 2.0))


@dataclass(frozen=True)
class PrivacyFigures:
    """The headline figures of one membership attack, with bootstrap intervals."""

    auc: float
    """Area under the ROC curve (0.5 is chance)."""
    balanced_accuracy: float
    """Best balanced accuracy over thresholds."""
    tpr_at_1pct_fpr: float
    """TPR at 1% FPR."""
    tpr_at_01pct_fpr: float
    """TPR at 0.1% FPR."""
    auc_ci: tuple[float, float]
    """95% bootstrap interval of the AUC."""
    tpr_at_1pct_fpr_ci: tuple[float, float]
    """95% bootstrap interval of TPR at 1% FPR."""
    tpr_at_01pct_fpr_ci: tuple[float, float]
    """95% bootstrap interval of TPR at 0.1% FPR."""


def privacy_figures(
    member_scores: np.ndarray,
    nonmember_scores: np.ndarray,
    *,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> PrivacyFigures:
    """AUC, balanced accuracy and TPR at 1% / 0.1% FPR, with percentile bootstrap intervals
    (members and non-members resampled independently)."""
    pos = np.asarray(member_scores, dtype=np.float64)
    neg = np.asarray(nonmember_scores, dtype=np.float64)
    curve = roc(pos, neg)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_bootstrap, 3))
    for b in range(n_bootstrap):
        c = roc(rng.choice(pos, len(pos)), rng.choice(neg, len(neg)))
        boot[b] = auc(c), tpr_at_fpr(c, 0.01), tpr_at_fpr(c, 0.001)
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=0) if n_bootstrap else (np.zeros(3),) * 2
    return PrivacyFigures(
        auc=auc(curve),
        balanced_accuracy=balanced_accuracy(curve),
        tpr_at_1pct_fpr=tpr_at_fpr(curve, 0.01),
        tpr_at_01pct_fpr=tpr_at_fpr(curve, 0.001),
        auc_ci=(float(lo[0]), float(hi[0])),
        tpr_at_1pct_fpr_ci=(float(lo[1]), float(hi[1])),
        tpr_at_01pct_fpr_ci=(float(lo[2]), float(hi[2])),
    )


def log_grid(curve: Roc, points: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """The curve sampled at log-spaced FPRs (for storing and log-log plots): ``(fpr, tpr)``."""
    n_neg_floor = max(float(curve.fpr[curve.fpr > 0].min(initial=1.0)), 1e-5)
    grid = np.unique(np.r_[np.geomspace(n_neg_floor, 1.0, points), 1.0])
    tpr = np.array([tpr_at_fpr(curve, f) for f in grid])
    return grid, tpr


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial interval for ``k`` successes in ``n`` trials."""
    from scipy.stats import beta

    if n == 0:
        return 0.0, 1.0
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi
