"""The :class:`Target` protocol: what is under assessment, at any technology level.

A target answers queries in the output mode its deployment reveals, declares its capabilities
as data, describes its inputs, and counts the queries it answered.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from aisec.errors import CapabilityError, DataError


class Capability(str, enum.Enum):
    """What a target lets an attacker do."""

    GRADIENTS = "gradients"
    """Differentiable logits (white-box)."""
    SCORES = "scores"
    """Per-class scores (logits or probabilities) are revealed."""
    LABELS = "labels"
    """The predicted label is revealed."""
    TRAINABLE = "trainable"
    """A training recipe is known, so the same architecture can be retrained on new data."""
    TEXT = "text"
    """Generates text (large language models)."""


@dataclass
class QueryCounter:
    """A query counter shared by every view of one model."""

    count: int = 0


class OutputMode(str, enum.Enum):
    """What a deployed model reveals per query."""

    LOGITS = "logits"
    PROBABILITIES = "probabilities"
    TOP1_PROBABILITY = "top1_probability"
    LABEL_ONLY = "label_only"


@dataclass(frozen=True)
class InputSpec:
    """Shape, value bounds and label range of a classifier's inputs."""

    shape: tuple[int, ...]
    """Shape of one sample (e.g. ``(1, 8, 8)`` for NCHW images without the batch axis)."""
    n_classes: int
    """Number of output classes."""
    bounds: tuple[float, float] = (0.0, 1.0)
    """Valid range of input values (inclusive)."""
    dtype: str = "float32"
    """Input dtype at the public edge."""

    def check(self, x: np.ndarray, y: np.ndarray | None = None, *, what: str = "inputs") -> None:
        """Raise :class:`DataError` if ``x`` (and ``y``) do not fit this spec."""
        check_inputs(x, y, self, what=what)


def check_inputs(
    x: np.ndarray, y: np.ndarray | None, spec: InputSpec, *, what: str = "inputs"
) -> None:
    """Validate a batch against a spec with one-line, actionable errors."""
    if x.ndim < 1 or tuple(x.shape[1:]) != tuple(spec.shape):
        raise DataError(
            f"{what} have shape {tuple(x.shape)} but the target expects (N, "
            f"{', '.join(map(str, spec.shape))}); reshape the data or declare the right input shape"
        )
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{what} must be numeric; got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        bad = int(np.sum(~np.isfinite(x).reshape(len(x), -1).all(axis=1)))
        raise DataError(
            f"{what} contain NaN or infinite values in {bad} sample(s); clean them first"
        )
    lo, hi = spec.bounds
    tol = 1e-5 * max(1.0, hi - lo)
    if x.size and (float(x.min()) < lo - tol or float(x.max()) > hi + tol):
        raise DataError(
            f"{what} range from {float(x.min()):g} to {float(x.max()):g} but the target's bounds are "
            f"[{lo:g}, {hi:g}]; rescale the data (e.g. divide 8-bit images by 255) or declare bounds"
        )
    if y is not None:
        if y.shape != (len(x),):
            raise DataError(
                f"labels have shape {tuple(y.shape)}; expected ({len(x)},), one per input"
            )
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"labels must be integers; got dtype {y.dtype}")
        if y.size and (int(y.min()) < 0 or int(y.max()) >= spec.n_classes):
            raise DataError(
                f"labels range from {int(y.min())} to {int(y.max())} but the target has "
                f"{spec.n_classes} classes (0..{spec.n_classes - 1}); check the label encoding"
            )


@runtime_checkable
class Target(Protocol):
    """Anything aisec can assess, at any technology level: what every target shares.

    What an attack may do beyond this is granted by capabilities, each with a typed view
    (:mod:`aisec.targets.views`): a classifier, differentiable scores, a training recipe, a
    chat model. Adapters implement the views they can.
    """

    name: str

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this target lets an attacker do, given how it is deployed."""
        ...

    @property
    def queries(self) -> int:
        """Number of queries answered since creation or the last :meth:`reset_queries`."""
        ...

    def reset_queries(self) -> None:
        """Set the query counter back to zero."""
        ...

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description for reports."""
        ...


def require(target: Target, needed: Iterable[Capability], what: str) -> None:
    """Raise :class:`CapabilityError` if ``target`` lacks any capability in ``needed``."""
    missing = [c for c in needed if c not in target.capabilities]
    if missing:
        names = ", ".join(c.value for c in missing)
        have = ", ".join(sorted(c.value for c in target.capabilities)) or "none"
        mode = target.describe().get("output_mode")
        shown = f" (output mode {mode})" if mode else ""
        raise CapabilityError(
            f"{what} needs {names} but target {target.name!r}{shown} offers {have}; "
            "use a test for its capabilities instead"
        )


def capabilities_for(
    mode: OutputMode, *, differentiable: bool, trainable: bool
) -> frozenset[Capability]:
    """Capabilities implied by an output mode and what the adapter can do."""
    caps = {Capability.LABELS}
    if mode is not OutputMode.LABEL_ONLY:
        caps.add(Capability.SCORES)
    if differentiable and mode in (OutputMode.LOGITS, OutputMode.PROBABILITIES):
        caps.add(Capability.GRADIENTS)
    if trainable:
        caps.add(Capability.TRAINABLE)
    return frozenset(caps)


def shape_output(scores: np.ndarray, mode: OutputMode, *, scores_are_logits: bool) -> np.ndarray:
    """Reduce full scores to what ``mode`` reveals.

    ``logits``: raw scores; ``probabilities``: softmax; ``top1_probability``: a vector that is
    zero except the top class, which carries its probability; ``label_only``: integer labels.
    """
    if mode is OutputMode.LABEL_ONLY:
        return scores.argmax(axis=1)
    if scores_are_logits:
        z = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(z)
        probs /= probs.sum(axis=1, keepdims=True)
    else:
        probs = scores
    if mode is OutputMode.LOGITS:
        return scores if scores_are_logits else np.log(np.clip(probs, 1e-12, None))
    if mode is OutputMode.PROBABILITIES:
        return probs
    top = probs.argmax(axis=1)
    out = np.zeros_like(probs)
    out[np.arange(len(probs)), top] = probs[np.arange(len(probs)), top]
    return out
