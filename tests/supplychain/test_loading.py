"""Safe loading of real model files: benign files load, hostile ones are refused and never run."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import aisec
from aisec.errors import ModelLoadError, UnsafeModelError
from aisec.supplychain.loading import load_model, sniff_format


class Classifier(torch.nn.Module):
    """A small MLP for 8 features and 3 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(8, 16)
        self.out = torch.nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(x)))


def build_classifier() -> torch.nn.Module:
    """Factory used by the tests (an untrained architecture)."""
    return Classifier()


class WritesMarker:
    """A pickle payload: unpickling it runs ``exec`` and creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.fixture(scope="module")
def trained() -> torch.nn.Module:
    torch.manual_seed(0)
    model = Classifier()
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    for _ in range(50):  # plain gradient descent (torch.optim imports slowly)
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    return model.eval()


@pytest.fixture()
def probe() -> torch.Tensor:
    return torch.randn(5, 8, generator=torch.Generator().manual_seed(1))


def _same_outputs(a: torch.nn.Module, b: torch.nn.Module, x: torch.Tensor) -> bool:
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x))


def test_load_model_is_public_api() -> None:
    assert "load_model" in aisec.__all__ and aisec.load_model is load_model


def test_safetensors_state_dict_and_factory(trained, probe, tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"  # the content decides, not the extension
    save_file(trained.state_dict(), str(path))
    assert sniff_format(path) == "safetensors"
    state = load_model(path)
    assert set(state) == set(trained.state_dict())
    model = load_model(path, factory=build_classifier)
    assert _same_outputs(model, trained, probe)


def test_torchscript_loads_as_module(trained, probe, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(trained), str(path))
    assert sniff_format(path) == "torchscript"
    assert _same_outputs(load_model(path), trained, probe)


def test_benign_checkpoints_load_with_weights_only(trained, probe, tmp_path: Path) -> None:
    plain = tmp_path / "state.pth"
    torch.save(trained.state_dict(), plain)
    state = load_model(plain)
    assert isinstance(state, OrderedDict) and set(state) == set(trained.state_dict())
    nested = tmp_path / "checkpoint.ckpt"
    torch.save({"epoch": 3, "model_state_dict": trained.state_dict(), "lr": 0.1}, nested)
    model = load_model(nested, factory=f"{__name__}:build_classifier")
    assert _same_outputs(model, trained, probe)
    legacy = tmp_path / "legacy.pt"
    torch.save(trained.state_dict(), legacy, _use_new_zipfile_serialization=False)
    assert sniff_format(legacy) == "pickle"
    assert _same_outputs(load_model(legacy, factory=build_classifier), trained, probe)


@pytest.mark.parametrize("how", ["torch-zip", "legacy", "raw-pickle", "renamed-folder"])
def test_malicious_files_are_refused_and_never_run(how: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "model.pt"
    payload = {"weight": torch.zeros(3), "extra": WritesMarker(marker)}
    if how == "torch-zip":
        torch.save(payload, path)
    elif how == "legacy":
        torch.save(payload, path, _use_new_zipfile_serialization=False)
    elif how == "raw-pickle":
        path.write_bytes(pickle.dumps(WritesMarker(marker), protocol=4))
    else:
        import zipfile

        torch.save(payload, tmp_path / "orig.pt")
        with zipfile.ZipFile(tmp_path / "orig.pt") as src, zipfile.ZipFile(path, "w") as dst:
            for info in src.infolist():
                dst.writestr("innocent/" + info.filename.split("/", 1)[1], src.read(info))
    assert not marker.exists()
    with pytest.raises(UnsafeModelError) as err:
        load_model(path)
    message = str(err.value)
    assert "trust=True" in message and "\n" not in message
    assert "(high)" in message or "(critical)" in message
    assert not marker.exists()
    # Trusting the file lifts the scan gate, but weights_only still refuses to run code.
    with pytest.warns(UserWarning, match="despite"), pytest.raises(ModelLoadError) as err2:
        load_model(path, trust=True)
    assert not isinstance(err2.value, UnsafeModelError)
    assert not marker.exists()


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    arr = tmp_path / "x.npy"
    np.save(arr, np.zeros(3))
    with pytest.raises(ModelLoadError, match="numpy"):
        load_model(arr)
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_model(tmp_path / "missing.pt")


def test_wrong_factory_and_non_state_dict(trained, tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_file(trained.state_dict(), str(path))
    with pytest.raises(ModelLoadError, match="do not fit"):
        load_model(path, factory=lambda: torch.nn.Linear(8, 3))
    listed = tmp_path / "list.pt"
    torch.save([1, 2, 3], listed)
    assert load_model(listed) == [1, 2, 3]
    with pytest.raises(ModelLoadError, match="no state dict"):
        load_model(listed, factory=build_classifier)
