"""Integrity manifests on real model folders: hashes, tampering, links, Ed25519 signatures, CLI."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from aisec.cli.main import app
from aisec.supplychain.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestError,
    create_manifest,
    file_kind,
    generate_keypair,
    load_private_key,
    load_public_key,
    verify_manifest,
)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A model folder as a user would ship it: weights, checkpoint, data, config, a readme."""
    root = tmp_path / "release"
    (root / "data").mkdir(parents=True)
    model = _model()
    save_file(model.state_dict(), str(root / "model.safetensors"))
    torch.save(model.state_dict(), root / "model.pt")
    rng = np.random.default_rng(0)
    np.savez(root / "data" / "train.npz", x=rng.random((20, 8), dtype=np.float32), y=np.arange(20))
    (root / "config.json").write_text(json.dumps({"hidden": 16, "classes": 3}))
    (root / "README").write_text("release notes\n")
    return root


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, Path]:
    """A real Ed25519 key pair on disk."""
    return generate_keypair(tmp_path_factory.mktemp("keys") / "release")


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def test_manifest_hashes_every_file_with_its_kind(folder: Path) -> None:
    manifest = create_manifest(folder)
    by_path = {e.path: e for e in manifest.files}
    assert sorted(by_path) == [
        "README",
        "config.json",
        "data/train.npz",
        "model.pt",
        "model.safetensors",
    ]
    for rel, entry in by_path.items():
        content = (folder / rel).read_bytes()
        assert entry.sha256 == hashlib.sha256(content).hexdigest()
        assert entry.size == len(content)
    kinds = {rel: e.kind for rel, e in by_path.items()}
    assert kinds == {
        "README": "other",
        "config.json": "config",
        "data/train.npz": "data",
        "model.pt": "model",
        "model.safetensors": "model",
    }


def test_kind_comes_from_content_not_extension(folder: Path) -> None:
    disguised = folder / "weights.txt"
    disguised.write_bytes((folder / "model.safetensors").read_bytes())
    assert file_kind(disguised) == "model"
    hidden_ckpt = folder / "notes.dat"
    hidden_ckpt.write_bytes((folder / "model.pt").read_bytes())
    assert file_kind(hidden_ckpt) == "model"


def test_unchanged_folder_verifies_and_manifest_is_never_hashed(folder: Path) -> None:
    create_manifest(folder).save(folder / MANIFEST_NAME)
    again = create_manifest(folder)  # with the first manifest now inside the folder
    assert MANIFEST_NAME not in {e.path for e in again.files}
    result = verify_manifest(folder)
    assert result.ok and result.checked == 5
    assert (result.added, result.removed, result.changed) == ((), (), ())


def test_detects_changed_removed_and_added_files(folder: Path) -> None:
    create_manifest(folder).save(folder / MANIFEST_NAME)
    # Same size, one flipped byte in the weights: only the digest can tell.
    blob = bytearray((folder / "model.safetensors").read_bytes())
    blob[-1] ^= 0x01
    (folder / "model.safetensors").write_bytes(bytes(blob))
    (folder / "README").unlink()
    (folder / "data" / "extra.npz").write_bytes((folder / "data" / "train.npz").read_bytes())
    result = verify_manifest(folder)
    assert not result.ok
    assert result.changed == ("model.safetensors",)
    assert result.removed == ("README",)
    assert result.added == ("data/extra.npz",)
    detail = result.details["model.safetensors"]
    assert detail["expected_size"] == detail["actual_size"]
    assert detail["expected_sha256"] != detail["actual_sha256"]


def test_links_leaving_the_folder_are_not_followed(folder: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.bin"
    secret.write_bytes(b"not part of the release")
    os.symlink(secret, folder / "leak.bin")
    os.symlink(tmp_path, folder / "outside-dir")
    os.symlink("config.json", folder / "config-link.json")  # stays inside: hashed
    manifest = create_manifest(folder)
    paths = {e.path for e in manifest.files}
    assert "leak.bin" not in paths and not any(p.startswith("outside-dir") for p in paths)
    assert "config-link.json" in paths
    assert set(manifest.skipped) == {"leak.bin", "outside-dir/"}
    manifest.save(folder / MANIFEST_NAME)
    # Swapping a reviewed file for a link out of the folder shows up as a removal.
    (folder / "model.pt").unlink()
    os.symlink(secret, folder / "model.pt")
    assert verify_manifest(folder).removed == ("model.pt",)


def test_signature_detects_an_edited_manifest(folder: Path, keys: tuple[Path, Path]) -> None:
    private, public = keys
    signed = create_manifest(folder, private_key=load_private_key(private))
    signed.save(folder / MANIFEST_NAME)
    pub = load_public_key(public)
    assert verify_manifest(folder, public_key=pub).signature == "valid"
    # An attacker swaps the weights and updates the hash in the manifest to match.
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    data = json.loads((folder / MANIFEST_NAME).read_text())
    for entry in data["files"]:
        if entry["path"] == "model.safetensors":
            entry["sha256"] = hashlib.sha256(b"\x00" * 64).hexdigest()
            entry["size"] = 64
    (folder / MANIFEST_NAME).write_text(json.dumps(data))
    result = verify_manifest(folder, public_key=pub)
    assert result.changed == () and result.signature == "invalid" and not result.ok


def test_other_key_and_unsigned_manifest_fail(folder: Path, keys, tmp_path: Path) -> None:
    private, _ = keys
    _, other_public = generate_keypair(tmp_path / "other")
    create_manifest(folder, private_key=load_private_key(private)).save(folder / MANIFEST_NAME)
    assert verify_manifest(folder, public_key=load_public_key(other_public)).signature == "invalid"
    create_manifest(folder).save(folder / MANIFEST_NAME)
    result = verify_manifest(folder, public_key=load_public_key(other_public))
    assert result.signature == "missing" and not result.ok
    assert verify_manifest(folder).signature == "absent" and verify_manifest(folder).ok


def test_malformed_manifests_raise_user_errors(folder: Path) -> None:
    (folder / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        verify_manifest(folder)
    (folder / MANIFEST_NAME).write_text(
        json.dumps(
            {
                "version": 1,
                "algorithm": "sha256",
                "files": [{"path": "../etc/passwd", "size": 1, "sha256": "00"}],
            }
        )
    )
    with pytest.raises(ManifestError, match="unsafe path"):
        Manifest.load(folder / MANIFEST_NAME)
    with pytest.raises(ManifestError, match="does not exist"):
        verify_manifest(folder / "missing")


def test_cli_create_verify_keygen_round_trip(folder: Path, tmp_path: Path) -> None:
    r = cli("manifest", "keygen", "--out", str(tmp_path / "k"))
    assert r.exit_code == 0, r.stderr
    assert (tmp_path / "k.key.pem").stat().st_mode & 0o777 == 0o600
    out = tmp_path / "release.manifest.json"
    r = cli(
        "manifest",
        "create",
        str(folder),
        "--output",
        str(out),
        "--sign-key",
        str(tmp_path / "k.key.pem"),
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(out.read_text())["signature"]["algorithm"] == "ed25519"
    args = (
        "manifest",
        "verify",
        str(folder),
        "--manifest",
        str(out),
        "--public-key",
        str(tmp_path / "k.pub.pem"),
        "--format",
        "json",
    )
    r = cli(*args)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["signature"] == "valid"
    (folder / "config.json").write_text(json.dumps({"hidden": 17, "classes": 3}))
    r = cli(*args)
    assert r.exit_code == 1
    assert json.loads(r.stdout)["changed"] == ["config.json"]
    assert "changed" in r.stderr


def test_cli_usage_errors_exit_2(folder: Path, tmp_path: Path) -> None:
    r = cli("manifest", "verify", str(folder))  # no manifest yet
    assert r.exit_code == 2 and r.stderr.startswith("aisec: error:")
    assert "aisec manifest create" in r.stderr
    r = cli("manifest", "create", str(folder), "--sign-key", str(tmp_path / "nokey.pem"))
    assert r.exit_code == 2 and "does not exist" in r.stderr
    (tmp_path / "garbage.pem").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n")
    r = cli("manifest", "create", str(folder), "--sign-key", str(tmp_path / "garbage.pem"))
    assert r.exit_code == 2 and "PEM private key" in r.stderr
    r = cli("manifest", "create", str(folder / "README"))
    assert r.exit_code == 2 and "not a folder" in r.stderr
