"""The built-in ``signs`` data set and the ``signs-cnn`` target trained on it."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.data import load_builtin
from aisec.data.signs import CLASS_NAMES, N_CLASSES, render_signs
from aisec.targets import Capability, load_builtin_target


@pytest.fixture(scope="module")
def signs_cnn():
    return load_builtin_target("signs-cnn")


def test_rendering_is_deterministic_per_seed() -> None:
    x1, y1 = render_signs(96, seed=3)
    x2, y2 = render_signs(96, seed=3)
    x3, _ = render_signs(96, seed=4)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


def test_splits_are_balanced_images_in_range() -> None:
    train, test = load_builtin("signs:train"), load_builtin("signs:test")
    assert train.x.shape == (2400, 3, 32, 32) and test.x.shape == (600, 3, 32, 32)
    assert train.x.dtype == np.float32 and train.y.dtype == np.int64
    assert float(train.x.min()) >= 0.0 and float(train.x.max()) <= 1.0
    assert np.bincount(train.y, minlength=N_CLASSES).tolist() == [300] * N_CLASSES
    assert np.bincount(test.y, minlength=N_CLASSES).tolist() == [75] * N_CLASSES
    assert len(CLASS_NAMES) == N_CLASSES >= 6
    assert test.meta["classes"].split(",") == list(CLASS_NAMES)
    # The two splits are different renderings, and the images vary within a class.
    assert not np.array_equal(train.x[:600], test.x)
    stop = train.x[train.y == 0]
    assert float(stop.std(axis=0).mean()) > 0.1
    both = load_builtin("signs:all")
    assert len(both) == 3000 and np.array_equal(both.x[2400:], test.x)


def test_signs_cnn_is_accurate_and_carries_its_recipe(signs_cnn) -> None:
    test = load_builtin("signs:test")
    acc = float(np.mean(signs_cnn.predict_labels(test.x) == test.y))
    assert acc > 0.9
    assert signs_cnn.spec.shape == (3, 32, 32) and signs_cnn.spec.n_classes == N_CLASSES
    assert Capability.GRADIENTS in signs_cnn.capabilities
    assert Capability.TRAINABLE in signs_cnn.capabilities
    assert signs_cnn.recipe is not None and signs_cnn.recipe.name == "signs-cnn"


def test_signs_cnn_loads_the_same_weights_from_its_cache(signs_cnn) -> None:
    again = load_builtin_target("signs-cnn")
    for a, b in zip(
        signs_cnn.model.state_dict().values(), again.model.state_dict().values(), strict=True
    ):
        assert np.array_equal(a.numpy(), b.numpy())
