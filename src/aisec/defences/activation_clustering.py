"""Activation clustering: poisons form their own small cluster in the features of their label.

Reference: Chen et al., "Detecting Backdoor Attacks on Deep Neural Networks by Activation
Clustering", SafeAI@AAAI 2019, arXiv:1811.03728. Per class, the model's last-hidden-layer
activations are reduced to a few independent components (FastICA, as in the paper: unlike
PCA it turns towards the bimodal direction a poison cluster makes) and split by 2-means; a cluster holding less than
``size_threshold`` of its class is flagged as poisoned (the paper's relative-size analysis).
"""

from __future__ import annotations

import numpy as np


def activation_clustering(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    n_components: int = 10,
    size_threshold: float = 0.35,
    min_class_size: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """Boolean mask of the samples in a suspiciously small cluster of their label's features.

    Args:
        features: ``(N, D)`` activations of the model trained on the data set.
        labels: ``(N,)`` labels as given in the training set.
        n_components: Dimensions kept before clustering.
        size_threshold: A cluster below this share of its class is flagged.
        min_class_size: Classes with fewer samples are not analysed.
        seed: Seed of the k-means initialisation.
    """
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    features = np.asarray(features, np.float64).reshape(len(features), -1)
    flagged = np.zeros(len(features), bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < min_class_size:
            continue
        f = features[idx]
        f = f - f.mean(0)
        k = max(1, min(n_components, f.shape[1], len(idx) - 1))
        ica = FastICA(
            n_components=k, whiten="unit-variance", max_iter=200, tol=1e-3, random_state=seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reduced = ica.fit_transform(f)
        clusters = KMeans(2, n_init=10, random_state=seed).fit_predict(reduced)
        sizes = np.bincount(clusters, minlength=2)
        small = int(np.argmin(sizes))
        if sizes[small] / len(idx) < size_threshold:
            flagged[idx[clusters == small]] = True
    return flagged
