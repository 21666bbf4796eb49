"""Adapter for fitted scikit-learn classifiers (black-box: scores and labels, no gradients)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from aisec.errors import TargetError
from aisec.targets.base import (
    Capability,
    InputSpec,
    OutputMode,
    QueryCounter,
    capabilities_for,
    check_inputs,
    shape_output,
)
from aisec.targets.recipes import TrainingRecipe


@dataclass
class SklearnClassifier:
    """Wrap a fitted estimator with ``predict_proba`` or ``decision_function``.

    Inputs keep the data set's shape (e.g. images) and are flattened before the estimator sees
    them, so the same attacks and data work for torch and scikit-learn targets.
    """

    estimator: Any
    spec: InputSpec
    name: str = "sklearn-model"
    output_mode: OutputMode = OutputMode.PROBABILITIES
    recipe: TrainingRecipe | None = None
    source: str = ""
    _counter: QueryCounter = field(default_factory=QueryCounter, repr=False)

    def __post_init__(self) -> None:
        self.output_mode = OutputMode(self.output_mode)
        has_proba = hasattr(self.estimator, "predict_proba")
        if not has_proba and not hasattr(self.estimator, "decision_function"):
            raise TargetError(
                f"{type(self.estimator).__name__} has neither predict_proba nor decision_function; "
                "wrap a classifier that exposes scores"
            )
        classes = getattr(self.estimator, "classes_", None)
        if classes is None:
            raise TargetError(f"{type(self.estimator).__name__} is not fitted; call fit() first")
        if list(np.asarray(classes)) != list(range(self.spec.n_classes)):
            raise TargetError(
                f"estimator classes {list(classes)[:12]} must be 0..{self.spec.n_classes - 1}; "
                "encode labels as consecutive integers"
            )

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Scores (unless label-only) and labels; never gradients."""
        return capabilities_for(
            self.output_mode, differentiable=False, trainable=self.recipe is not None
        )

    @property
    def queries(self) -> int:
        """Samples answered so far."""
        return self._counter.count

    def reset_queries(self) -> None:
        """Zero the query counter."""
        self._counter.count = 0

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Full class probabilities (counts queries); used by black-box attacks via ``predict``."""
        x = np.asarray(x, dtype=np.float32)
        check_inputs(x, None, self.spec)
        self._counter.count += len(x)
        flat = x.reshape(len(x), -1)
        if hasattr(self.estimator, "predict_proba"):
            return np.asarray(self.estimator.predict_proba(flat), dtype=np.float64)
        d = np.asarray(self.estimator.decision_function(flat), dtype=np.float64)
        if d.ndim == 1:  # binary decision function
            d = np.stack([-d, d], axis=1)
        z = d - d.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores or labels, as the output mode reveals."""
        return shape_output(self.scores(x), self.output_mode, scores_are_logits=False)

    def predict_labels(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels."""
        return self.scores(x).argmax(axis=1)

    def with_output_mode(self, mode: OutputMode | str) -> SklearnClassifier:
        """A view of the same estimator (and query counter) revealing only ``mode``."""
        return replace(self, output_mode=OutputMode(mode), _counter=self._counter)

    def describe(self) -> dict[str, Any]:
        """Facts about the target for reports."""
        return {
            "name": self.name,
            "kind": "sklearn",
            "estimator": type(self.estimator).__name__,
            "source": self.source,
            "input_shape": list(self.spec.shape),
            "bounds": list(self.spec.bounds),
            "n_classes": self.spec.n_classes,
            "output_mode": self.output_mode.value,
            "capabilities": sorted(c.value for c in self.capabilities),
        }
