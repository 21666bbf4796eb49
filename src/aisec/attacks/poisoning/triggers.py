"""Backdoor triggers: a mask and a pattern stamped onto inputs, ``(1 - m) * x + m * p``.

A patch trigger (BadNets, Gu et al. 2017) sets a small corner square to a fixed black-and-white
pattern (mask 1 there, 0 elsewhere); a blended trigger (Chen et al. 2017) mixes a fixed random
pattern into the whole input with weight ``alpha``. Inputs without a 2-D layout (tabular
features) get a "patch" over their last features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRIGGER_KINDS = ("patch", "blend")
"""Trigger shapes a backdoor may use."""


@dataclass(frozen=True)
class Trigger:
    """A trigger as a mask in [0, 1] and a pattern in the input bounds, both of sample shape."""

    kind: str
    """``patch``, ``blend`` or ``recovered`` (reverse-engineered by a backdoor scan)."""
    mask: np.ndarray
    """Weight of the pattern per input element (1: replaced, 0: untouched)."""
    pattern: np.ndarray
    """Values stamped where the mask is set."""

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The inputs with the trigger stamped on (float32, same shape)."""
        m = self.mask.astype(np.float32)
        return ((1.0 - m) * x + m * self.pattern).astype(np.float32)

    @property
    def l1(self) -> float:
        """Size of the trigger: the L1 norm of its mask (per spatial position)."""
        m = self.mask if self.mask.ndim < 3 else self.mask.max(axis=0)
        return float(np.abs(m).sum())


def patch_trigger(
    shape: tuple[int, ...], bounds: tuple[float, float], size: int, *, seed: int = 0
) -> Trigger:
    """A ``size`` x ``size`` checkerboard of the bounds' extremes in the bottom-right corner.

    A checkerboard rather than a plain square, so the trigger is unlike any natural stroke.
    """
    lo, hi = bounds
    mask = np.zeros(shape, np.float32)
    pattern = np.full(shape, lo, np.float32)
    if len(shape) >= 2:
        h, w = shape[-2], shape[-1]
        s = max(1, min(size, h, w))
        board = (np.indices((s, s)).sum(0) % 2 == 0).astype(np.float32)
        mask[..., h - s :, w - s :] = 1.0
        pattern[..., h - s :, w - s :] = lo + (hi - lo) * board
    else:
        k = max(1, min(size * size, shape[0]))
        mask[-k:] = 1.0
        pattern[-k:] = np.where(np.arange(k) % 2 == 0, hi, lo)
    return Trigger("patch", mask, pattern)


def blend_trigger(
    shape: tuple[int, ...], bounds: tuple[float, float], alpha: float, *, seed: int = 0
) -> Trigger:
    """A fixed uniform-noise pattern over the whole input, mixed in with weight ``alpha``."""
    lo, hi = bounds
    rng = np.random.default_rng(seed)
    pattern = rng.uniform(lo, hi, size=shape).astype(np.float32)
    return Trigger("blend", np.full(shape, alpha, np.float32), pattern)


def make_trigger(
    kind: str,
    shape: tuple[int, ...],
    bounds: tuple[float, float],
    *,
    size: int,
    alpha: float,
    seed: int,
) -> Trigger:
    """The trigger a backdoor's parameters describe."""
    if kind == "patch":
        return patch_trigger(shape, bounds, size, seed=seed)
    return blend_trigger(shape, bounds, alpha, seed=seed)
