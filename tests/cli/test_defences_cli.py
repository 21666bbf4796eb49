"""``aisec harden`` and ``aisec certify`` as a user runs them: files, JSON, exit codes, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aisec.targets.builtin.cache import sha256_file
from aisec.targets.torch import TorchClassifier
from cli_invoke import invoke, one_line_error

HARDEN = ["harden", "--model", "builtin:digits-cnn", "--data", "builtin:digits:train"]


@pytest.fixture(scope="module")
def hardened(tmp_path_factory):
    out = tmp_path_factory.mktemp("hardened")
    args = ["harden", "--model", "builtin:digits-cnn", "--data", "builtin:digits:train"]
    args += ["--defence", "pgd-at", "--eps", "0.1", "--steps", "2", "--epochs", "2"]
    result = invoke(*args, "--out", str(out / "model"), "--json", str(out / "record.json"))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return out


def test_harden_writes_weights_torchscript_and_its_record(hardened, digits_test) -> None:
    folder = hardened / "model"
    record = json.loads((folder / "training.json").read_text())
    assert record["settings"]["method"] == "pgd-at" and len(record["epoch_losses"]) == 2
    assert record["factory"] == "aisec.targets.builtin.digits:make_digits_cnn"
    for name, digest in record["files"].items():
        assert sha256_file(folder / name) == digest
    assert json.loads((hardened / "record.json").read_text())["files"] == record["files"]
    # both exports load through aisec's safe paths and answer alike
    script = TorchClassifier.from_torchscript(
        folder / "model.torchscript.pt", input_shape=(1, 8, 8)
    )
    weights = TorchClassifier.from_factory(
        record["factory"], folder / "model.safetensors", input_shape=(1, 8, 8)
    )
    x = digits_test.x[:50]
    np.testing.assert_array_equal(script.predict_labels(x), weights.predict_labels(x))


def test_certify_reports_radii_per_input(hardened, tmp_path) -> None:
    model = str(hardened / "model" / "model.torchscript.pt")
    args = ["certify", "--model", model, "--data", "builtin:digits:test", "--sigma", "0.25"]
    result = invoke(*args, "--n", "200", "--limit", "12", "--json", str(tmp_path / "c.json"))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["inputs"] == 12 and len(doc["radii"]) == 12
    curve = [p["accuracy"] for p in doc["certified_accuracy"]]
    assert curve == sorted(curve, reverse=True)  # certified accuracy never rises with r
    # n = 200 at alpha 0.001 bounds p_A below 0.001 ** (1 / 200): radius at most ~0.6
    assert max(doc["radii"]) <= 0.25 * 2.5


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            [
                "harden",
                "--model",
                "builtin:digits-cnn",
                "--data",
                "builtin:digits:train",
                "--defence",
                "madry",
                "--out",
                "x",
            ],
            ["unknown hardening method 'madry'"],
        ),
        (
            [
                "harden",
                "--model",
                "builtin:digits-logreg",
                "--data",
                "builtin:digits:train",
                "--out",
                "x",
            ],
            ["--factory"],
        ),
        (
            ["harden", "--model", "builtin:digits-cnn", "--data", "nope.npz", "--out", "x"],
            ["nope.npz"],
        ),
        (
            [*HARDEN, "--epochs", "0", "--out", "x"],
            ["--epochs must be at least 1"],
        ),
        (
            [*HARDEN, "--norm", "l1", "--out", "x"],
            ["hardening norm must be linf or l2"],
        ),
        (
            [
                "certify",
                "--model",
                "builtin:digits-cnn",
                "--data",
                "builtin:digits:test",
                "--sigma",
                "0.25",
                "--alpha",
                "1.5",
            ],
            ["--alpha in (0, 1)"],
        ),
        (
            [
                "certify",
                "--model",
                "builtin:digits-cnn",
                "--data",
                "builtin:digits:test",
                "--sigma",
                "0",
            ],
            ["--sigma must be positive"],
        ),
    ],
)
def test_bad_input_is_one_line(args, fragments, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    one_line_error(invoke(*args), *fragments)
