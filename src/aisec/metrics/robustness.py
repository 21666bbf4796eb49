"""Accuracy, robust accuracy, attack success and perturbation-size metrics."""

from __future__ import annotations

import math

import numpy as np


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Fraction of predictions equal to the labels (0.0 for an empty set)."""
    return float(np.mean(pred == y)) if len(y) else 0.0


def robust_accuracy(clean_correct: np.ndarray, success: np.ndarray) -> float:
    """Fraction of all samples that are correct and stay correct under attack."""
    n = len(clean_correct)
    return float(np.sum(clean_correct & ~success) / n) if n else 0.0


def attack_success_rate(clean_correct: np.ndarray, success: np.ndarray) -> float:
    """Fraction of correctly classified samples that the attack turned into errors."""
    k = int(np.sum(clean_correct))
    return float(np.sum(success & clean_correct) / k) if k else 0.0


def perturbation_norms(x: np.ndarray, x_adv: np.ndarray) -> dict[str, np.ndarray]:
    """Per-sample L-inf, L2 and L1 norms of ``x_adv - x``."""
    d = (x_adv.astype(np.float64) - x.astype(np.float64)).reshape(len(x), -1)
    return {
        "linf": np.abs(d).max(axis=1) if d.size else np.zeros(len(x)),
        "l2": np.sqrt((d**2).sum(axis=1)),
        "l1": np.abs(d).sum(axis=1),
    }


def norm_summary(norms: np.ndarray, mask: np.ndarray) -> dict[str, float | None]:
    """Mean and median of ``norms`` over ``mask`` (None where the mask is empty)."""
    sel = norms[mask]
    if not len(sel):
        return {"mean": None, "median": None}
    return {"mean": float(sel.mean()), "median": float(np.median(sel))}


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved for small ``n``)."""
    if n == 0:
        return (0.0, 1.0)
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def clopper_pearson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) binomial interval; ``(0, 1)`` when ``n`` is 0."""
    from scipy.stats import beta

    if n <= 0:
        return (0.0, 1.0)
    a = (1 - confidence) / 2
    low = 0.0 if successes == 0 else float(beta.ppf(a, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - a, successes + 1, n - successes))
    return (low, high)
