"""Randomized smoothing: certified L2 robustness from Gaussian noise (Cohen et al., ICML 2019).

The smoothed classifier ``g(x) = argmax_c P(f(x + e) = c)``, ``e ~ N(0, sigma^2 I)``, is
robust within the L2 radius ``sigma * Phi^-1(p_A)`` around ``x`` when the top class has
probability at least ``p_A`` (Cohen et al., Theorem 1, with ``p_B <= 1 - p_A``). The paper's two
procedures are implemented as written:

- :func:`certify`: pick the top class on ``n0`` selection samples, estimate a one-sided
  Clopper-Pearson lower bound of its probability on ``n`` separate estimation samples at level
  ``alpha``; abstain when the bound is not above 1/2, else certify ``sigma * Phi^-1(bound)``;
- :func:`predict`: the top two classes' counts on ``n`` samples and a two-sided binomial test;
  abstain unless the top class wins at level ``alpha``.

Noise is added in the input space the user sees, without clipping to the input bounds (the
theorem is about the unclipped Gaussian), so the base classifier is queried through its
white-box logits (:class:`~aisec.targets.views.Differentiable`), which take any real input.
Every sample is a query; nothing here needs gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aisec.targets.views import Differentiable

ABSTAIN = -1
"""The label :func:`certify` and :func:`predict` return when they abstain."""


@dataclass(frozen=True)
class Certificates:
    """Smoothed predictions and their certified L2 radii, one per input."""

    labels: np.ndarray
    """Certified class per input (``ABSTAIN`` where the procedure abstained)."""
    radii: np.ndarray
    """Certified L2 radius per input (0 where it abstained)."""
    p_lower: np.ndarray
    """Lower confidence bound of the top class's probability under noise."""
    sigma: float
    """Noise standard deviation."""
    n: int
    """Estimation samples per input."""
    alpha: float
    """Failure probability of each certificate."""

    def accuracy_at(self, y: np.ndarray, radius: float) -> float:
        """Certified accuracy at ``radius``: correct and certified at least that far."""
        ok = (self.labels == np.asarray(y)) & (self.radii >= radius)
        return float(ok.mean()) if len(ok) else 0.0

    def curve(self, y: np.ndarray, radii: np.ndarray) -> list[tuple[float, float]]:
        """Certified accuracy at each radius of ``radii``."""
        return [(float(r), self.accuracy_at(y, float(r))) for r in radii]


def noise_counts(
    base: Differentiable,
    x: np.ndarray,
    sigma: float,
    n: int,
    *,
    batch_size: int = 2048,
    seed: int = 0,
) -> np.ndarray:
    """``(len(x), n_classes)`` counts of the base classifier's labels on ``n`` noisy copies of
    each input (every copy is a query)."""
    import torch

    rng = np.random.default_rng(seed)
    n_classes = base.spec.n_classes
    counts = np.zeros((len(x), n_classes), dtype=np.int64)
    flat = x.reshape(len(x), -1).astype(np.float32)
    per_point = max(1, batch_size)
    for i in range(len(x)):
        done = 0
        while done < n:
            m = min(per_point, n - done)
            noisy = flat[i][None] + rng.normal(0.0, sigma, (m, flat.shape[1])).astype(np.float32)
            batch = torch.from_numpy(noisy.reshape(m, *x.shape[1:]))
            labels = base.logits_batched(batch).argmax(dim=1).cpu().numpy()
            counts[i] += np.bincount(labels, minlength=n_classes)
            done += m
    return counts


def lower_confidence_bound(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided ``1 - alpha`` Clopper-Pearson lower bound of a binomial proportion."""
    from scipy.stats import beta

    k = np.asarray(k, dtype=np.float64)
    lb = beta.ppf(alpha, k, n - k + 1)
    return np.where(k > 0, lb, 0.0)


def certify(
    base: Differentiable,
    x: np.ndarray,
    sigma: float,
    *,
    n0: int = 100,
    n: int = 10_000,
    alpha: float = 0.001,
    batch_size: int = 2048,
    seed: int = 0,
) -> Certificates:
    """Cohen et al.'s CERTIFY on every input (selection and estimation samples are separate)."""
    from scipy.stats import norm

    select = noise_counts(base, x, sigma, n0, batch_size=batch_size, seed=seed)
    top = select.argmax(axis=1)
    estimate = noise_counts(base, x, sigma, n, batch_size=batch_size, seed=seed + 1)
    k = estimate[np.arange(len(x)), top]
    p_lower = lower_confidence_bound(k, n, alpha)
    certified = p_lower > 0.5
    radii = np.where(certified, sigma * norm.ppf(np.clip(p_lower, 0.5, 1.0)), 0.0)
    labels = np.where(certified, top, ABSTAIN)
    return Certificates(labels, radii, p_lower, sigma, n, alpha)


def predict(
    base: Differentiable,
    x: np.ndarray,
    sigma: float,
    *,
    n: int = 1000,
    alpha: float = 0.001,
    batch_size: int = 2048,
    seed: int = 0,
) -> np.ndarray:
    """Cohen et al.'s PREDICT: the top class where a binomial test on the top two counts
    rejects a tie at level ``alpha``, else ``ABSTAIN``."""
    from scipy.stats import binomtest

    counts = noise_counts(base, x, sigma, n, batch_size=batch_size, seed=seed)
    order = np.argsort(-counts, axis=1, kind="stable")
    out = np.full(len(x), ABSTAIN, dtype=np.int64)
    for i, (a, b) in enumerate(order[:, :2]):
        na, nb = int(counts[i, a]), int(counts[i, b])
        if na + nb and binomtest(na, na + nb, 0.5).pvalue <= alpha:
            out[i] = a
    return out
