"""Training recipes: how to train a target's architecture again on other data.

Poisoning, backdoor and privacy tests retrain (shadow models, poisoned copies); a recipe gives
them the same architecture and training procedure the target was built with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TrainingRecipe:
    """A named function ``train(x, y, seed) -> Target`` plus its hyper-parameters."""

    name: str
    """Short name, e.g. ``digits-cnn``."""
    train: Callable[[np.ndarray, np.ndarray, int], Any]
    """Trains a fresh model on ``(x, y)`` with ``seed`` and returns it wrapped as a target."""
    params: tuple[tuple[str, Any], ...] = ()
    """Hyper-parameters, for reports."""
