"""CycloneDX 1.6 ML-BOMs of real model and data files, checked with the strict schema validator."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import torch
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from safetensors.torch import save_file
from typer.testing import CliRunner

from aisec.cli.main import app
from aisec.supplychain.bom import BomError, build_bom, describe_file, validate_bom


class TinyCNN(torch.nn.Module):
    """A small convolutional classifier for 1x8x8 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.fc = torch.nn.Linear(4 * 6 * 6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Real files: safetensors weights, a TorchScript archive, a checkpoint, .npz and CSV data."""
    d = tmp_path_factory.mktemp("bom")
    torch.manual_seed(0)
    model = TinyCNN()
    paths = {
        "weights": d / "cnn.safetensors",
        "script": d / "cnn_script.pt",
        "ckpt": d / "cnn.ckpt",
        "npz": d / "digits.npz",
        "csv": d / "labels.csv",
    }
    save_file(model.state_dict(), str(paths["weights"]))
    torch.jit.save(torch.jit.script(model), str(paths["script"]))
    torch.save(model.state_dict(), paths["ckpt"])
    rng = np.random.default_rng(0)
    np.savez(paths["npz"], x=rng.random((30, 1, 8, 8), dtype=np.float32), y=np.arange(30) % 10)
    paths["csv"].write_text("id,label\n" + "".join(f"{i},{i % 10}\n" for i in range(30)))
    return paths


@pytest.fixture(scope="module")
def bom(files) -> dict:
    return build_bom(
        [files["weights"], files["script"], files["ckpt"]],
        [files["npz"], files["csv"]],
        name="digits-system",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _by_type(doc: dict, kind: str) -> list[dict]:
    return [c for c in doc["components"] if c["type"] == kind]


def test_bom_is_valid_cyclonedx_1_6(bom: dict) -> None:
    assert bom["specVersion"] == "1.6" and bom["bomFormat"] == "CycloneDX"
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is None
    assert bom["metadata"]["component"]["name"] == "digits-system"
    assert bom["metadata"]["timestamp"].startswith("2026-01-01")


def test_validator_rejects_what_the_schema_forbids(bom: dict) -> None:
    broken = json.loads(json.dumps(bom))
    library = _by_type(broken, "library")[0]
    library["modelCard"] = {"modelParameters": {"task": 3}}  # wrong type of a card field
    assert validate_bom(broken)


def test_model_components_carry_hashes_and_model_cards(bom: dict, files) -> None:
    models = {c["name"]: c for c in _by_type(bom, "machine-learning-model")}
    assert set(models) == {"cnn.safetensors", "cnn_script.pt", "cnn.ckpt"}
    for key in ("weights", "script", "ckpt"):
        comp = models[files[key].name]
        expected = hashlib.sha256(files[key].read_bytes()).hexdigest()
        assert comp["hashes"] == [{"alg": "SHA-256", "content": expected}]
    card = {p["name"]: p["value"] for p in models["cnn.safetensors"]["modelCard"]["properties"]}
    n_params = sum(p.numel() for p in TinyCNN().parameters())
    assert card["format"] == "safetensors"
    assert card["tensors"] == "4" and card["parameters"] == str(n_params)
    assert card["dtypes"] == "F32"
    script_card = models["cnn_script.pt"]["modelCard"]
    assert script_card["modelParameters"]["modelArchitecture"] == "TinyCNN"
    ckpt_card = {p["name"]: p["value"] for p in models["cnn.ckpt"]["modelCard"]["properties"]}
    assert ckpt_card["format"] == "torch-zip" and ckpt_card["storages"] == "4"
    assert ckpt_card["storage_bytes"] == str(4 * n_params)


def test_data_components_are_linked_from_the_model_cards(bom: dict, files) -> None:
    data = {c["name"]: c for c in _by_type(bom, "data")}
    assert set(data) == {"digits.npz", "labels.csv"}
    npz = data["digits.npz"]
    assert npz["hashes"][0]["content"] == hashlib.sha256(files["npz"].read_bytes()).hexdigest()
    props = {p["name"]: p["value"] for p in npz["data"][0]["contents"]["properties"]}
    assert props["x.shape"] == "30x1x8x8" and props["y.dtype"] == "int64"
    csv_props = {
        p["name"]: p["value"] for p in data["labels.csv"]["data"][0]["contents"]["properties"]
    }
    assert csv_props["lines"] == "31"
    refs = {c["bom-ref"] for c in data.values()}
    for model in _by_type(bom, "machine-learning-model"):
        assert {d["ref"] for d in model["modelCard"]["modelParameters"]["datasets"]} == refs


def test_environment_libraries_have_purls(bom: dict) -> None:
    libraries = {c["purl"]: c for c in _by_type(bom, "library")}
    assert f"pkg:pypi/torch@{torch.__version__.replace('+', '%2B')}" in libraries
    assert f"pkg:pypi/numpy@{np.__version__}" in libraries
    assert f"pkg:pypi/cyclonedx-python-lib@{metadata.version('cyclonedx-python-lib')}" in libraries
    root_deps = next(d for d in bom["dependencies"] if d["ref"] == "system:digits-system")
    assert set(libraries) <= set(root_deps["dependsOn"])


def test_headers_and_scan_never_unpickle(tmp_path: Path) -> None:
    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('pwned')",))

    torch.save({"w": torch.zeros(3), "p": Payload()}, tmp_path / "evil.pt")
    torch.save({"w": torch.zeros(3)}, tmp_path / "good.pt")
    doc = build_bom(
        [tmp_path / "evil.pt", tmp_path / "good.pt"], include_environment=False, scan=True
    )
    assert not validate_bom(doc)
    cards = {
        c["name"]: {p["name"]: p["value"] for p in c["modelCard"]["properties"]}
        for c in _by_type(doc, "machine-learning-model")
    }
    assert cards["evil.pt"]["scan.max_severity"] in ("high", "critical")
    assert cards["good.pt"]["scan.max_severity"] in ("none", "info", "low")
    assert not marker.exists()


def test_broken_headers_are_described_not_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((20).to_bytes(8, "little") + b'{"a": {"shape": [2' + b" " * 10)
    facts = describe_file(bad)
    assert facts.format == "safetensors" and facts.properties == {"header": "unreadable"}
    assert not validate_bom(build_bom([bad], include_environment=False))


def test_cli_writes_a_valid_bom_and_rejects_missing_files(files, tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "bom",
            "--model",
            str(files["weights"]),
            "--data",
            str(files["npz"]),
            "--name",
            "svc",
            "--output",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text())
    assert not validate_bom(doc) and doc["metadata"]["component"]["name"] == "svc"
    r = runner.invoke(app, ["bom", "--model", str(tmp_path / "nope.pt")])
    assert r.exit_code == 2 and "nope.pt" in r.stderr
    with pytest.raises(BomError):
        build_bom([])
