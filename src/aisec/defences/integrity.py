"""A third-party data set checked before training: duplicates, label noise, class balance.

* Exact duplicates (identical inputs) and those whose labels conflict.
* Near duplicates: a nearest neighbour closer than ``near_threshold`` times the median
  nearest-neighbour distance (poisons are often slightly altered copies).
* Label noise by confident learning (Northcutt, Jiang, Chuang, "Confident Learning: Estimating
  Uncertainty in Dataset Labels", JAIR 2021, arXiv:1911.00068): out-of-fold probabilities of a
  simple classifier, a per-class confidence threshold (the mean probability of the class over
  the samples labelled with it), and a sample counted as mislabelled when its given class is
  below its threshold while another class is above its own.
* Class-balance shift against a trusted reference set: total-variation distance of the class
  shares and a chi-square goodness-of-fit p-value.
"""

from __future__ import annotations

import numpy as np

from aisec.data.dataset import Dataset
from aisec.records.poisoning import DataIntegrityOutcome

MAX_SUSPECTS_LISTED = 200
"""Most suspect-label indices an outcome lists."""
MAX_NEIGHBOUR_SAMPLES = 20_000
"""Near duplicates are searched among at most this many samples (seeded draw)."""


def check_dataset(
    data: Dataset,
    reference: Dataset | None = None,
    *,
    near_threshold: float = 0.25,
    folds: int = 5,
    seed: int = 0,
) -> DataIntegrityOutcome:
    """Check ``data`` (and its class balance against ``reference``, when given)."""
    x = np.asarray(data.x, np.float64).reshape(len(data), -1)
    y = np.asarray(data.y)
    exact, conflicting = _exact_duplicates(x, y)
    near = _near_duplicates(x, near_threshold, seed)
    suspects = _confident_label_errors(x, y, folds, seed)
    counts = np.bincount(y, minlength=int(y.max()) + 1)
    out: dict[str, object] = {}
    if reference is not None:
        ref_counts = np.bincount(reference.y, minlength=len(counts))
        k = max(len(counts), len(ref_counts))
        p = np.pad(counts, (0, k - len(counts))) / counts.sum()
        q = np.pad(ref_counts, (0, k - len(ref_counts))) / ref_counts.sum()
        out["balance_shift"] = float(0.5 * np.abs(p - q).sum())
        out["balance_p_value"] = _chi_square_p(np.pad(counts, (0, k - len(counts))), q)
        out["reference_counts"] = {str(c): int(v) for c, v in enumerate(ref_counts)}
    return DataIntegrityOutcome(
        n=len(data),
        exact_duplicates=exact,
        conflicting_duplicates=conflicting,
        near_duplicates=near,
        near_threshold=near_threshold,
        label_noise=len(suspects) / len(data),
        suspect_labels=tuple(int(i) for i in suspects[:MAX_SUSPECTS_LISTED]),
        class_counts={str(c): int(v) for c, v in enumerate(counts)},
        **out,  # type: ignore[arg-type]
    )


def _exact_duplicates(x: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    duplicates = len(x) - len(first)
    conflicting = 0
    for group in np.flatnonzero(np.bincount(inverse) > 1):
        labels = y[inverse == group]
        if len(np.unique(labels)) > 1:
            conflicting += len(labels) - 1
    return int(duplicates), int(conflicting)


def _near_duplicates(x: np.ndarray, threshold: float, seed: int) -> int:
    from sklearn.neighbors import NearestNeighbors

    if len(x) < 3:
        return 0
    if len(x) > MAX_NEIGHBOUR_SAMPLES:
        idx = np.random.default_rng(seed).choice(len(x), MAX_NEIGHBOUR_SAMPLES, replace=False)
        x = x[idx]
    unique = np.unique(x, axis=0)
    if len(unique) < 3:
        return 0
    dist, _ = NearestNeighbors(n_neighbors=2).fit(unique).kneighbors(unique)
    nearest = dist[:, 1]
    median = float(np.median(nearest))
    if median <= 0:
        return 0
    return int(np.sum(nearest < threshold * median))


def _confident_label_errors(x: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classes, per_class = np.unique(y, return_counts=True)
    n_splits = int(min(folds, per_class.min()))
    if len(classes) < 2 or n_splits < 2:
        return np.zeros(0, np.int64)
    k = min(50, x.shape[1], len(x) - 1)
    model = make_pipeline(
        StandardScaler(),
        PCA(n_components=k, random_state=seed),
        LogisticRegression(C=1.0, max_iter=1000),
    )
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    probs = cross_val_predict(model, x, y, cv=cv, method="predict_proba")
    col = {c: i for i, c in enumerate(classes)}
    given = np.array([col[v] for v in y])
    thresholds = np.array([probs[given == j, j].mean() for j in range(len(classes))])
    above = probs >= thresholds[None, :]
    above[np.arange(len(y)), given] = False
    below_own = probs[np.arange(len(y)), given] < thresholds[given]
    return np.flatnonzero(below_own & above.any(1))


def _chi_square_p(counts: np.ndarray, shares: np.ndarray) -> float:
    from scipy.stats import chisquare

    if np.any((shares == 0) & (counts > 0)):
        return 0.0
    keep = shares > 0
    expected = shares[keep] * counts.sum()
    return float(chisquare(counts[keep], f_exp=expected).pvalue)
