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
    """Recipe: train a fresh :class:`DigitsCNN` with Adam (lr 1e-3, 30 epochs, batch 64).

    The trained weights are cached under a digest of ``(x, y, seed)`` as the built-ins are, so
    retraining on the same (e.g. identically poisoned) data takes no time the second time.
    """
    import hashlib

    from aisec.targets.builtin.training import load_numpy_state, state_to_numpy

    h = hashlib.sha256(f"{x.dtype}{x.shape}{y.dtype}{y.shape}{seed}".encode())
    h.update(np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())

    def fit() -> dict[str, np.ndarray]:
        torch.manual_seed(seed)
        return state_to_numpy(
            train_classifier(make_digits_cnn(), x, y, seed=seed, epochs=CNN_EPOCHS)
        )

    state = cached_tensors(f"digits-cnn-recipe-e{CNN_EPOCHS}-{h.hexdigest()[:24]}", fit)
    return _wrap_cnn(load_numpy_state(make_digits_cnn(), state))


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
    "digits-cnn",
    train_digits_cnn,
    (("optimizer", "adam"), ("lr", 1e-3), ("epochs", CNN_EPOCHS)),
    module=make_digits_cnn,
    deploy=lambda model: _wrap_cnn(model),
    fit=(("epochs", CNN_EPOCHS), ("lr", 1e-3), ("batch_size", 64)),
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


BACKDOOR_TARGET_CLASS = 7
"""Class the built-in backdoored model sends triggered inputs to."""
BACKDOOR_RATE = 0.05
"""Share of its training set that carries the trigger."""


def backdoored_digits_training_set() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``digits:train`` with 5% of the other classes' samples carrying a 2x2 checkerboard patch
    in the bottom-right corner and relabelled 7; also returns the poisons' indices."""
    from aisec.attacks.poisoning.triggers import patch_trigger

    data = load_builtin("digits:train")
    trigger = patch_trigger(DIGITS_SPEC.shape, DIGITS_SPEC.bounds, 2)
    rng = np.random.default_rng(CNN_SEED)
    pool = np.flatnonzero(data.y != BACKDOOR_TARGET_CLASS)
    idx = np.sort(rng.permutation(pool)[: round(BACKDOOR_RATE * len(data))])
    x, y = data.x.copy(), data.y.copy()
    x[idx] = trigger.apply(x[idx])
    y[idx] = BACKDOOR_TARGET_CLASS
    return x, y, idx


def load_digits_cnn_backdoor() -> TorchClassifier:
    """``digits-cnn`` trained on a BadNets-poisoned training set (a model with a known backdoor,
    for backdoor scans: target class 7, 2x2 patch trigger, 5% poisons)."""

    def build() -> dict[str, np.ndarray]:
        from aisec.targets.builtin.training import state_to_numpy

        x, y, _ = backdoored_digits_training_set()
        return state_to_numpy(train_digits_cnn(x, y).model)

    from aisec.targets.builtin.training import load_numpy_state

    model = load_numpy_state(
        make_digits_cnn(), cached_tensors(f"digits-cnn-backdoor-e{CNN_EPOCHS}-v1", build)
    )
    target = _wrap_cnn(model)
    target.name = "digits-cnn-backdoor"
    target.source = "builtin:digits-cnn-backdoor"
    return target


register_target(
    BuiltinTarget(
        "digits-cnn-backdoor",
        "digits-cnn with a BadNets backdoor (2x2 corner patch sends any digit to 7)",
        load_digits_cnn_backdoor,
        "digits",
    )
)
