"""``cancer-mlp`` and ``digits-mlp``: small MLPs whose recipes train many copies at once.

Both are deliberately trained to fit their training sets (no weight decay, many epochs), as
models tuned for accuracy on small data are: they are the privacy family's targets, whose
membership leakage the demo measures. Their recipes implement ``train_many`` with the stacked
trainer, so a sweep of reference models costs little more than one model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from aisec.targets.base import InputSpec
from aisec.targets.builtin import BuiltinTarget, register_target
from aisec.targets.builtin.cache import cached_tensors
from aisec.targets.builtin.stacked import Mlp, train_stacked_mlps
from aisec.targets.builtin.training import load_numpy_state, state_to_numpy
from aisec.targets.recipes import TrainingRecipe
from aisec.targets.torch import TorchClassifier

CANCER_SPEC = InputSpec(shape=(30,), n_classes=2, bounds=(0.0, 1.0))
DIGITS_FLAT_SPEC = InputSpec(shape=(1, 8, 8), n_classes=10, bounds=(0.0, 1.0))


class MlpRecipe:
    """A stacked-MLP training recipe: widths, epochs and optimiser settings."""

    def __init__(
        self,
        name: str,
        spec: InputSpec,
        hidden: Sequence[int],
        *,
        epochs: int,
        lr: float = 1e-3,
        batch_size: int = 32,
        weight_decay: float = 0.0,
    ) -> None:
        self.name, self.spec = name, spec
        self.widths = (int(np.prod(spec.shape)), *hidden, spec.n_classes)
        self.epochs, self.lr, self.batch_size, self.weight_decay = (
            epochs,
            lr,
            batch_size,
            weight_decay,
        )

    def recipe(self) -> TrainingRecipe:
        """The recipe, with its batched form and its module factory."""
        fit = (("epochs", self.epochs), ("lr", self.lr), ("batch_size", self.batch_size))
        return TrainingRecipe(
            self.name,
            self.train,
            (*fit, ("weight_decay", self.weight_decay), ("widths", list(self.widths))),
            train_many=self.train_many,
            module=self.make,
            deploy=self.deploy,
            fit=fit,
        )

    def make(self) -> Mlp:
        """An untrained module of the architecture."""
        return Mlp(self.widths)

    def deploy(self, model: Mlp) -> TorchClassifier:
        """A trained module wrapped as this recipe's targets are."""
        return TorchClassifier(
            model=model, spec=self.spec, name=self.name, recipe=self.recipe(), source="recipe"
        )

    def train(self, x: np.ndarray, y: np.ndarray, seed: int) -> TorchClassifier:
        """Train one model on ``(x, y)``."""
        return self.train_many(x, y, np.ones((1, len(x)), dtype=bool), [seed])[0]

    def train_many(
        self, x: np.ndarray, y: np.ndarray, masks: np.ndarray, seeds: Sequence[int]
    ) -> list[TorchClassifier]:
        """Train one model per mask in one stacked sweep; weights cached by data digest."""
        h = hashlib.sha256(repr((self.widths, self.epochs, self.lr, self.batch_size)).encode())
        h.update(repr((self.weight_decay, list(map(int, seeds)), x.shape)).encode())
        for a in (x, y, np.packbits(np.asarray(masks, dtype=bool))):
            h.update(np.ascontiguousarray(a).tobytes())

        def fit() -> dict[str, np.ndarray]:
            nets = train_stacked_mlps(
                self.widths,
                x,
                y,
                masks,
                seeds,
                epochs=self.epochs,
                lr=self.lr,
                batch_size=self.batch_size,
                weight_decay=self.weight_decay,
            )
            return {
                f"{j}.{k}": v for j, net in enumerate(nets) for k, v in state_to_numpy(net).items()
            }

        state = cached_tensors(f"{self.name}-sweep-{h.hexdigest()[:24]}", fit)
        models = []
        for j in range(len(masks)):
            own = {k.split(".", 1)[1]: v for k, v in state.items() if k.split(".", 1)[0] == str(j)}
            models.append(self.deploy(load_numpy_state(self.make(), own)))
        return models


CANCER_MLP = MlpRecipe("cancer-mlp", CANCER_SPEC, (64, 64), epochs=150, batch_size=32)
DIGITS_MLP = MlpRecipe("digits-mlp", DIGITS_FLAT_SPEC, (128,), epochs=100, batch_size=64)


def _load(recipe: MlpRecipe, dataset: str) -> TorchClassifier:
    from aisec.data.builtin import load_builtin

    data = load_builtin(f"{dataset}:train")
    target = recipe.train(data.x, data.y, 0)
    target.source = f"builtin:{recipe.name}"
    return target


register_target(
    BuiltinTarget(
        "cancer-mlp",
        "MLP on scikit-learn's breast-cancer records (tabular, fitted to its training set)",
        lambda: _load(CANCER_MLP, "cancer"),
        "cancer",
        modality="tabular",
    )
)
register_target(
    BuiltinTarget(
        "digits-mlp",
        "MLP on scikit-learn's 8x8 digits (fitted to its training set)",
        lambda: _load(DIGITS_MLP, "digits"),
        "digits",
    )
)
