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
