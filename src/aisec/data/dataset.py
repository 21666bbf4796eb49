"""The :class:`Dataset` record: inputs, integer labels and where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aisec.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` (float32, one sample per row/leading index) and labels ``y`` (int64)."""

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
        """The first ``n`` samples after a seeded shuffle (all of them when ``n`` is None)."""
        if n is None or n >= len(self):
            return self
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(self))[:n]
        idx.sort()
        return Dataset(self.x[idx], self.y[idx], self.name, {**self.meta, "subset": int(n)})

    def describe(self) -> dict[str, Any]:
        """Facts for reports."""
        return {
            "name": self.name,
            "n": len(self),
            "shape": list(self.x.shape[1:]),
            "classes": int(self.y.max()) + 1 if len(self) else 0,
            "min": float(self.x.min()) if self.x.size else 0.0,
            "max": float(self.x.max()) if self.x.size else 0.0,
            **{k: v for k, v in self.meta.items() if isinstance(v, (str, int, float, bool))},
        }


def validate_arrays(x: np.ndarray, y: np.ndarray, name: str = "data") -> None:
    """Check dtypes, shapes and finiteness with one-line errors."""
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise DataError(f"{name}: x and y must be numpy arrays")
    if x.ndim < 2:
        raise DataError(f"{name}: x must have a sample axis and features, got shape {x.shape}")
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
    if len(y) and int(y.min()) < 0:
        raise DataError(f"{name}: labels must be non-negative class indices; found {int(y.min())}")
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x.reshape(len(x), -1))).any(axis=1).sum())
        raise DataError(
            f"{name}: x has NaN or infinite values in {bad} sample(s); clean them first"
        )
