"""Labelled data under named roles: train/test, members/non-members, a clean reference set.

Poisoning retrains on a training split and measures on a test split; membership inference
needs members (the training data) and non-members; defences calibrate on a clean reference
set. :class:`Splits` holds these as :class:`~aisec.data.dataset.Dataset` parts, validated once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aisec.data.dataset import Dataset
from aisec.errors import DataError

TRAIN = "train"
"""Data the model was (or will be) trained on."""
TEST = "test"
"""Held-out evaluation data."""
MEMBERS = "members"
"""Samples known to be in the model's training set (membership inference)."""
NON_MEMBERS = "non_members"
"""Samples known not to be in the model's training set."""
REFERENCE = "reference"
"""Clean data a defence or detector may calibrate on."""
ROLES = (TRAIN, TEST, MEMBERS, NON_MEMBERS, REFERENCE)
"""The roles aisec's tests know."""


@dataclass(frozen=True)
class Splits:
    """Named labelled parts of one data source, all with the same sample shape.

    Every part holds samples: a :class:`~aisec.data.dataset.Dataset` is never empty.
    """

    parts: Mapping[str, Dataset]
    """Role name -> labelled data."""
    name: str = "data"
    """Human-readable name for reports."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Provenance of the whole (source path, built-in name)."""

    def __post_init__(self) -> None:
        if not self.parts:
            raise DataError(
                f"{self.name}: no splits given; name at least one of {', '.join(ROLES)}"
            )
        shapes = {role: tuple(d.x.shape[1:]) for role, d in self.parts.items()}
        if len(set(shapes.values())) > 1:
            shown = ", ".join(f"{r} {s}" for r, s in shapes.items())
            raise DataError(
                f"{self.name}: splits have different sample shapes ({shown}); "
                "every split must come from the same input space"
            )

    def __getitem__(self, role: str) -> Dataset:
        try:
            return self.parts[role]
        except KeyError:
            have = ", ".join(self.parts)
            raise DataError(
                f"{self.name} has no {role!r} split (it has: {have}); add it to the data config"
            ) from None

    def __contains__(self, role: object) -> bool:
        return role in self.parts

    def first(self, *roles: str) -> Dataset | None:
        """The part of the first role in ``roles`` that is present, or None."""
        for role in roles:
            if role in self.parts:
                return self.parts[role]
        return None

    def require(self, roles: Iterable[str], what: str) -> None:
        """Raise :class:`DataError` naming every role in ``roles`` that is missing."""
        missing = [r for r in roles if r not in self.parts]
        if missing:
            have = ", ".join(self.parts)
            raise DataError(
                f"{what} needs the split(s) {', '.join(missing)} but {self.name} has {have}; "
                "give them in the data config"
            )

    @classmethod
    def split(
        cls,
        data: Dataset,
        fractions: Mapping[str, float],
        *,
        seed: int = 0,
    ) -> Splits:
        """Cut one data set into roles by seeded, stratified fractions (summing to at most 1)."""
        total = sum(fractions.values())
        if not fractions or total > 1 + 1e-9 or any(f <= 0 for f in fractions.values()):
            raise DataError(
                f"split fractions must be positive and sum to at most 1; got {dict(fractions)}"
            )
        rng = np.random.default_rng(seed)
        assigned: dict[str, list[int]] = {r: [] for r in fractions}
        for label in np.unique(data.y):
            idx = rng.permutation(np.flatnonzero(data.y == label))
            start = 0
            for role, frac in fractions.items():
                k = round(frac * len(idx))
                assigned[role].extend(idx[start : start + k].tolist())
                start += k
        parts = {}
        for role, idx_list in assigned.items():
            if not idx_list:
                raise DataError(
                    f"{data.name}: split {role!r} gets no samples at fraction "
                    f"{fractions[role]:g} of {len(data)}; raise the fraction or give more data"
                )
            idx = np.sort(np.asarray(idx_list, dtype=np.int64))
            parts[role] = Dataset(
                data.x[idx], data.y[idx], f"{data.name}[{role}]", {**data.meta, "split": role}
            )
        return cls(parts, data.name, dict(data.meta))

    def describe(self) -> dict[str, Any]:
        """Facts for reports: each split's description."""
        return {"name": self.name, "splits": {r: d.describe() for r, d in self.parts.items()}}
