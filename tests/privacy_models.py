"""Small real targets for the privacy tests: MLPs on subsets of digits, synthetic tabular data.

The MLP recipes train many copies at once (the stacked trainer), so reference-model sweeps stay
within a few seconds.
"""

from __future__ import annotations

import functools

import numpy as np

from aisec.data.builtin import load_builtin
from aisec.data.dataset import Dataset
from aisec.data.splits import TEST, TRAIN, Splits
from aisec.targets.base import InputSpec
from aisec.targets.builtin.tabular import MlpRecipe
from aisec.targets.torch import TorchClassifier

DIGITS = InputSpec(shape=(1, 8, 8), n_classes=10, bounds=(0.0, 1.0))

OVERFIT = MlpRecipe("test-mlp-overfit", DIGITS, (128,), epochs=60, batch_size=32, lr=5e-3)
"""Fits its training set (no regularisation, many epochs)."""
REGULARISED = MlpRecipe(
    "test-mlp-regularised", DIGITS, (128,), epochs=8, batch_size=32, weight_decay=1e-3
)
"""Stopped early: about the same test accuracy, far less memorised."""


@functools.cache
def digits_splits(n_train: int = 600, n_test: int = 400) -> Splits:
    """A seeded subset of digits: ``train`` (the target's training set) and ``test``."""
    train, test = load_builtin("digits:train"), load_builtin("digits:test")
    rng = np.random.default_rng(0)
    pool_x = np.concatenate([train.x, test.x])
    pool_y = np.concatenate([train.y, test.y])
    order = rng.permutation(len(pool_x))
    tr, te = order[:n_train], order[n_train : n_train + n_test]
    return Splits(
        {
            TRAIN: Dataset(pool_x[tr], pool_y[tr], "digits-sub:train"),
            TEST: Dataset(pool_x[te], pool_y[te], "digits-sub:test"),
        },
        "digits-sub",
    )


@functools.cache
def trained(recipe: MlpRecipe) -> TorchClassifier:
    """``recipe`` trained on :func:`digits_splits`' training split (seed 0)."""
    data = digits_splits()[TRAIN]
    return recipe.train(data.x, data.y, 0)
