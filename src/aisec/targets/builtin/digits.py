"""``digits-cnn`` and ``digits-logreg``: models of scikit-learn's bundled 8x8 digits."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aisec.data.builtin import load_builtin
from aisec.targets.base import InputSpec, OutputMode
from aisec.targets.builtin import BuiltinTarget, register_target
from aisec.targets.builtin.cache import cached_tensors
from aisec.targets.builtin.training import cached_torch_model, train_classifier
from aisec.targets.recipes import TrainingRecipe
from aisec.targets.sklearn import SklearnClassifier
from aisec.targets.torch import TorchClassifier

DIGITS_SPEC = InputSpec(shape=(1, 8, 8), n_classes=10, bounds=(0.0, 1.0))
CNN_EPOCHS = 30
CNN_SEED = 0


class DigitsCNN(nn.Module):
    """Two 3x3 convolutions, a max-pool and two dense layers (about 40k parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of ``(N, 1, 8, 8)`` images in [0, 1]."""
        return self.head(self.features(x))


def make_digits_cnn() -> nn.Module:
    """Factory for the architecture (usable as ``aisec.targets.builtin.digits:make_digits_cnn``)."""
    return DigitsCNN()


def train_digits_cnn(x: np.ndarray, y: np.ndarray, seed: int = CNN_SEED) -> TorchClassifier:
    """Recipe: train a fresh :class:`DigitsCNN` with Adam (lr 1e-3, 30 epochs, batch 64)."""
    torch.manual_seed(seed)
    model = train_classifier(make_digits_cnn(), x, y, seed=seed, epochs=CNN_EPOCHS)
    return _wrap_cnn(model)


def _wrap_cnn(model: nn.Module) -> TorchClassifier:
    return TorchClassifier(
        model=model,
        spec=DIGITS_SPEC,
        name="digits-cnn",
        recipe=DIGITS_CNN_RECIPE,
        source="builtin:digits-cnn",
    )


def load_digits_cnn() -> TorchClassifier:
    """The cached ``digits-cnn`` (trained on ``digits:train`` on first use)."""
    model = cached_torch_model(
        f"digits-cnn-e{CNN_EPOCHS}-s{CNN_SEED}-v1", make_digits_cnn, train_digits_cnn, "digits"
    )
    return _wrap_cnn(model)


def train_digits_logreg(x: np.ndarray, y: np.ndarray, seed: int = 0) -> SklearnClassifier:
    """Recipe: multinomial logistic regression (C=1, lbfgs) on flattened pixels."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    clf.fit(x.reshape(len(x), -1), y)
    return _wrap_logreg(clf)


def _wrap_logreg(clf: object) -> SklearnClassifier:
    return SklearnClassifier(
        estimator=clf,
        spec=DIGITS_SPEC,
        name="digits-logreg",
        output_mode=OutputMode.PROBABILITIES,
        recipe=DIGITS_LOGREG_RECIPE,
        source="builtin:digits-logreg",
    )


def load_digits_logreg() -> SklearnClassifier:
    """The cached ``digits-logreg``; its coefficients live in safetensors, not a pickle."""
    from sklearn.linear_model import LogisticRegression

    def build() -> dict[str, np.ndarray]:
        data = load_builtin("digits:train")
        est = train_digits_logreg(data.x, data.y).estimator
        return {"coef": est.coef_, "intercept": est.intercept_, "classes": est.classes_}

    t = cached_tensors("digits-logreg-v1", build)
    clf = LogisticRegression()
    clf.coef_, clf.intercept_, clf.classes_ = t["coef"], t["intercept"], t["classes"]
    clf.n_features_in_ = t["coef"].shape[1]
    return _wrap_logreg(clf)


DIGITS_CNN_RECIPE = TrainingRecipe(
    "digits-cnn", train_digits_cnn, (("optimizer", "adam"), ("lr", 1e-3), ("epochs", CNN_EPOCHS))
)
DIGITS_LOGREG_RECIPE = TrainingRecipe("digits-logreg", train_digits_logreg, (("C", 1.0),))

register_target(
    BuiltinTarget("digits-cnn", "small CNN on scikit-learn's 8x8 digits", load_digits_cnn, "digits")
)
register_target(
    BuiltinTarget(
        "digits-logreg",
        "logistic regression on scikit-learn's 8x8 digits",
        load_digits_logreg,
        "digits",
    )
)
