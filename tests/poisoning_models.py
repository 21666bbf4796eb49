"""A second architecture for the poisoning and forensics tests: a small MLP on digits.

Importable as ``poisoning_models:train_mlp`` (a ``module:function`` training recipe) once the
tests folder is on ``sys.path`` (pytest puts it there).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aisec.targets.base import InputSpec
from aisec.targets.builtin.training import train_classifier
from aisec.targets.torch import TorchClassifier

DIGITS = InputSpec(shape=(1, 8, 8), n_classes=10, bounds=(0.0, 1.0))


def make_mlp() -> nn.Module:
    """Flatten, 64 -> 128 -> 10 with a ReLU."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def train_mlp(x: np.ndarray, y: np.ndarray, seed: int) -> nn.Module:
    """A recipe: the MLP trained 40 epochs with Adam (about a second on digits)."""
    torch.manual_seed(seed)
    return train_classifier(make_mlp(), x, y, seed=seed, epochs=40, lr=3e-3)


def mlp_target(x: np.ndarray, y: np.ndarray, seed: int) -> TorchClassifier:
    """The trained MLP as a target."""
    return TorchClassifier(train_mlp(x, y, seed), DIGITS, name="digits-mlp")


def train_cnn_fast(x: np.ndarray, y: np.ndarray, seed: int) -> nn.Module:
    """A recipe: the built-in digits CNN architecture, 12 epochs at a higher learning rate
    (a third of the built-in recipe's time, for tests that train many models)."""
    from aisec.targets.builtin.digits import make_digits_cnn

    torch.manual_seed(seed)
    return train_classifier(make_digits_cnn(), x, y, seed=seed, epochs=12, lr=2e-3)


def fast_cnn_target(x: np.ndarray, y: np.ndarray, seed: int) -> TorchClassifier:
    """The fast CNN trained on ``(x, y)``, carrying its own recipe (so it is trainable)."""
    from dataclasses import replace

    from aisec.targets.recipes import recipe_from_reference

    target = TorchClassifier(train_cnn_fast(x, y, seed), DIGITS, name="digits-cnn-fast")
    return replace(target, recipe=recipe_from_reference("poisoning_models:train_cnn_fast", target))
