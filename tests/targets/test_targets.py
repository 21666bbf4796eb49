"""Targets: torch and scikit-learn adapters, output modes, query counting, safe constructors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from aisec.errors import CapabilityError, DataError, ModelLoadError, TargetError
from aisec.targets import Capability, OutputMode, TorchClassifier, require


def test_builtin_cnn_is_accurate_and_white_box(digits_cnn, digits_test) -> None:
    acc = float(np.mean(digits_cnn.predict_labels(digits_test.x) == digits_test.y))
    assert acc > 0.95
    assert {
        Capability.GRADIENTS,
        Capability.SCORES,
        Capability.TRAINABLE,
    } <= digits_cnn.capabilities


def test_builtin_logreg_is_black_box(digits_logreg, digits_test) -> None:
    acc = float(np.mean(digits_logreg.predict_labels(digits_test.x) == digits_test.y))
    assert acc > 0.9
    assert Capability.GRADIENTS not in digits_logreg.capabilities
    with pytest.raises(CapabilityError, match="needs gradients"):
        require(digits_logreg, [Capability.GRADIENTS], "PGD")


@pytest.mark.parametrize("fixture", ["digits_cnn", "digits_logreg"])
def test_output_modes_reveal_only_what_they_say(fixture, request, digits_test) -> None:
    target = request.getfixturevalue(fixture)
    x = digits_test.x[:16]
    probs = target.with_output_mode("probabilities").predict(x)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    top1 = target.with_output_mode(OutputMode.TOP1_PROBABILITY).predict(x)
    assert ((top1 > 0).sum(1) == 1).all()
    np.testing.assert_allclose(top1.max(1), probs.max(1), rtol=1e-5)
    labels_view = target.with_output_mode("label_only")
    labels = labels_view.predict(x)
    assert labels.ndim == 1 and (labels == probs.argmax(1)).all()
    assert labels_view.capabilities == frozenset({Capability.LABELS, Capability.TRAINABLE})


def test_queries_are_counted_and_shared_between_views(digits_cnn, digits_test) -> None:
    digits_cnn.reset_queries()
    view = digits_cnn.with_output_mode("label_only")
    view.predict(digits_test.x[:10])
    digits_cnn.predict(digits_test.x[:5])
    assert digits_cnn.queries == 15 == view.queries


def test_gradients_flow_through_normalisation(digits_cnn) -> None:
    t = TorchClassifier(model=digits_cnn.model, spec=digits_cnn.spec, mean=[0.5], std=[0.25])
    x = torch.rand(4, 1, 8, 8, requires_grad=True)
    t.logits(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_inputs_are_validated(digits_cnn) -> None:
    with pytest.raises(DataError, match="shape"):
        digits_cnn.predict(np.zeros((2, 1, 4, 4), dtype=np.float32))
    with pytest.raises(DataError, match="NaN"):
        digits_cnn.predict(np.full((2, 1, 8, 8), np.nan, dtype=np.float32))
    with pytest.raises(DataError, match="bounds"):
        digits_cnn.predict(np.full((2, 1, 8, 8), 255, dtype=np.float32))


def test_torchscript_and_factory_round_trip(tmp_path: Path, digits_cnn, digits_test) -> None:
    from safetensors.torch import save_file

    ts = tmp_path / "m.pt"
    torch.jit.save(torch.jit.script(digits_cnn.model), str(ts))
    loaded = TorchClassifier.from_torchscript(ts, input_shape=(1, 8, 8))
    assert loaded.spec.n_classes == 10
    np.testing.assert_array_equal(
        loaded.predict_labels(digits_test.x), digits_cnn.predict_labels(digits_test.x)
    )

    w = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in digits_cnn.model.state_dict().items()}, str(w))
    fac = TorchClassifier.from_factory(
        "aisec.targets.builtin.digits:make_digits_cnn", w, input_shape=(1, 8, 8)
    )
    np.testing.assert_array_equal(
        fac.predict_labels(digits_test.x), digits_cnn.predict_labels(digits_test.x)
    )


def test_bad_model_files_are_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(ModelLoadError, match="not a loadable TorchScript"):
        TorchClassifier.from_torchscript(junk, input_shape=(1, 8, 8))
    with pytest.raises(ModelLoadError, match="does not exist"):
        TorchClassifier.from_torchscript(tmp_path / "none.pt", input_shape=(1, 8, 8))
    with pytest.raises(ModelLoadError, match="not a valid safetensors"):
        TorchClassifier.from_factory(
            "aisec.targets.builtin.digits:make_digits_cnn", junk, input_shape=(1, 8, 8)
        )
    with pytest.raises(ModelLoadError, match=r"package\.module:function"):
        TorchClassifier.from_factory("nofactory", junk, input_shape=(1, 8, 8))


def test_sklearn_adapter_rejects_unfitted_estimators() -> None:
    from sklearn.linear_model import LogisticRegression

    from aisec.targets import InputSpec, SklearnClassifier

    with pytest.raises(TargetError, match="not fitted"):
        SklearnClassifier(LogisticRegression(), InputSpec(shape=(4,), n_classes=2))


def test_builtin_cache_is_verified_and_rebuilt(tmp_path: Path, monkeypatch) -> None:
    from aisec.targets.builtin.cache import cached_tensors

    monkeypatch.setenv("AISEC_CACHE_DIR", str(tmp_path))
    calls = []

    def build() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"w": np.arange(6, dtype=np.float32)}

    first = cached_tensors("k", build)
    again = cached_tensors("k", build)
    assert len(calls) == 1 and (first["w"] == again["w"]).all()
    path = tmp_path / "models" / "k.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # tamper with the cached weights
    path.write_bytes(bytes(data))
    rebuilt = cached_tensors("k", build)
    assert len(calls) == 2 and (rebuilt["w"] == np.arange(6)).all()


def test_recipe_retrains_the_same_architecture(digits_cnn) -> None:
    from aisec.data import load_builtin

    train = load_builtin("digits:train").subset(300, seed=1)
    assert digits_cnn.recipe is not None
    fresh = digits_cnn.recipe.train(train.x, train.y, 1)
    assert type(fresh.model) is type(digits_cnn.model)
    test = load_builtin("digits:test")
    assert float(np.mean(fresh.predict_labels(test.x) == test.y)) > 0.6
