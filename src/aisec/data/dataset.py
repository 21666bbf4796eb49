"""The :class:`Dataset` record: inputs, integer labels and where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aisec.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` (float32, one sample per row/leading index) and labels ``y`` (int64).

    A data set holds at least one sample: an empty one is refused where it is built (a loader,
    a subset, a split), so no test ever runs on nothing.
    """

    x: np.ndarray
    y: np.ndarray
    name: str = "data"
    """Human-readable name for reports."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Provenance: source path or built-in name, split, class names."""

    def __post_init__(self) -> None:
        validate_arrays(self.x, self.y, self.name)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, n: int | None = None, *, seed: int = 0, stratify: bool = False) -> Dataset:
        """The first ``n`` samples after a seeded shuffle (all of them when ``n`` is None).

        Raises:
            DataError: ``n`` is below 1.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise DataError(
                f"{self.name}: subset size must be a whole number of at least 1; got {n!r}"
            )
        if n is None or n >= len(self):
            return self
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(self))[:n]
        idx.sort()
        return Dataset(self.x[idx], self.y[idx], self.name, {**self.meta, "subset": int(n)})

    def take(self, idx: np.ndarray) -> Dataset:
        """The samples at ``idx`` (same name and provenance)."""
        return Dataset(self.x[idx], self.y[idx], self.name, dict(self.meta))

    def describe(self) -> dict[str, Any]:
        """Facts for reports."""
        return {
            "name": self.name,
            "n": len(self),
            "shape": list(self.x.shape[1:]),
            "classes": int(self.y.max()) + 1,
            "min": float(self.x.min()),
            "max": float(self.x.max()),
            **{k: v for k, v in self.meta.items() if isinstance(v, (str, int, float, bool))},
        }


def validate_arrays(x: np.ndarray, y: np.ndarray, name: str = "data") -> None:
    """Check dtypes, shapes (at least one sample and feature) and finiteness, in one line."""
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise DataError(f"{name}: x and y must be numpy arrays")
    if x.ndim < 2:
        raise DataError(f"{name}: x must have a sample axis and features, got shape {x.shape}")
    if len(x) == 0:
        raise DataError(f"{name} has no samples; give at least one")
    if 0 in x.shape[1:]:
        raise DataError(
            f"{name}: samples have no features (shape {x.shape}); give at least one feature"
        )
    if x.dtype != np.float32:
        raise DataError(
            f"{name}: x must be float32 (convert with x.astype('float32')); got {x.dtype}"
        )
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(
            f"{name}: y must have shape ({len(x)},), one label per sample; got {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{name}: labels must be integers; got {y.dtype}")
    if int(y.min()) < 0:
        raise DataError(f"{name}: labels must be non-negative class indices; found {int(y.min())}")
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
        raise DataError(
            f"{name}: x has NaN or infinite values in {bad} sample(s); clean them first"
        )
