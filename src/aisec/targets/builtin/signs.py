"""``signs-cnn``: a small CNN classifying the synthetic traffic signs of ``builtin:signs``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aisec.targets.base import InputSpec
from aisec.targets.builtin import BuiltinTarget, register_target
from aisec.targets.builtin.training import cached_torch_model, train_classifier
from aisec.targets.recipes import TrainingRecipe
from aisec.targets.torch import TorchClassifier

SIGNS_SPEC = InputSpec(shape=(3, 32, 32), n_classes=8, bounds=(0.0, 1.0))
EPOCHS = 7
SEED = 0
LR = 2e-3


class SignsCNN(nn.Module):
    """Three 3x3 convolution blocks with max-pooling and a two-layer head (about 60k parameters)."""

    def __init__(self, n_classes: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, n_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of ``(N, 3, 32, 32)`` RGB images in [0, 1]."""
        return self.head(self.features(x))


def make_signs_cnn() -> nn.Module:
    """Factory for the architecture (usable as ``aisec.targets.builtin.signs:make_signs_cnn``)."""
    return SignsCNN()


def train_signs_cnn(x: np.ndarray, y: np.ndarray, seed: int = SEED) -> TorchClassifier:
    """Recipe: train a fresh :class:`SignsCNN` with Adam (lr 2e-3, 7 epochs, batch 64)."""
    torch.manual_seed(seed)
    model = train_classifier(make_signs_cnn(), x, y, seed=seed, epochs=EPOCHS, lr=LR)
    return _wrap(model)


def _wrap(model: nn.Module) -> TorchClassifier:
    return TorchClassifier(
        model=model,
        spec=SIGNS_SPEC,
        name="signs-cnn",
        recipe=SIGNS_CNN_RECIPE,
        source="builtin:signs-cnn",
    )


def load_signs_cnn() -> TorchClassifier:
    """The cached ``signs-cnn`` (trained on ``signs:train`` on first use, in seconds on a CPU)."""
    model = cached_torch_model(
        f"signs-cnn-e{EPOCHS}-s{SEED}-v1", make_signs_cnn, train_signs_cnn, "signs"
    )
    return _wrap(model)


SIGNS_CNN_RECIPE = TrainingRecipe(
    "signs-cnn", train_signs_cnn, (("optimizer", "adam"), ("lr", LR), ("epochs", EPOCHS))
)

register_target(
    BuiltinTarget(
        "signs-cnn",
        "small CNN on synthetic 32x32 traffic signs (8 classes)",
        load_signs_cnn,
        "signs",
    )
)
