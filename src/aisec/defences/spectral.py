"""Spectral signatures: poisons dominate the top singular direction of their label's features.

Reference: Tran, Li, Madry, "Spectral Signatures in Backdoor Attacks", NeurIPS 2018,
arXiv:1811.00636. Per class, the centred feature matrix is projected on its top right singular
vector; the samples with the largest squared projections, ``1.5 * expected_rate`` of the class
(the paper's removal budget), are flagged.
"""

from __future__ import annotations

import math

import numpy as np


def spectral_scores(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Outlier score per sample: squared projection on its class's top singular vector."""
    features = np.asarray(features, np.float64).reshape(len(features), -1)
    scores = np.zeros(len(features))
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            continue
        centred = features[idx] - features[idx].mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        scores[idx] = (centred @ vt[0]) ** 2
    return scores


def spectral_signatures(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    expected_rate: float = 0.33,
    multiplier: float = 1.5,
) -> np.ndarray:
    """Boolean mask of the samples with the highest spectral scores within their class.

    Args:
        features: ``(N, D)`` activations of the model trained on the data set.
        labels: ``(N,)`` labels as given in the training set.
        expected_rate: Upper bound on the share of poisons within a class.
        multiplier: Removal budget over ``expected_rate`` (1.5 in the paper).
    """
    scores = spectral_scores(features, labels)
    flagged = np.zeros(len(scores), bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = min(len(idx), math.ceil(multiplier * expected_rate * len(idx)))
        if k and len(idx) >= 2:
            flagged[idx[np.argsort(-scores[idx])[:k]]] = True
    return flagged
