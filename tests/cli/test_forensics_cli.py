"""``aisec backdoor-scan`` and ``aisec data-check`` as a user runs them: exit codes, JSON, files."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from aisec.cli.main import app
from aisec.data import load_builtin

runner = CliRunner()


def test_backdoored_builtin_exits_1_with_json_and_trigger_image(tmp_path):
    out = tmp_path / "scan.json"
    r = runner.invoke(
        app,
        ["backdoor-scan", "--model", "builtin:digits-cnn-backdoor", "--data",
         "builtin:digits:test", "--limit", "200", "--json", str(out)],
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    doc = json.loads(out.read_text())
    assert doc["backdoored"] is True and doc["target_class"] == 7
    assert doc["anomaly_index"] > 2
    png = tmp_path / "scan.trigger.png"
    assert doc["trigger_image"] == str(png) and png.read_bytes()[:4] == b"\x89PNG"


def test_clean_torchscript_file_exits_0(tmp_path, digits_cnn):
    import torch

    path = tmp_path / "clean.pt"
    torch.jit.save(torch.jit.trace(digits_cnn.model, torch.zeros(1, 1, 8, 8)), str(path))
    data = load_builtin("digits:test").subset(120, seed=0)
    npz = tmp_path / "clean.npz"
    np.savez(npz, x=data.x, y=data.y)
    r = runner.invoke(app, ["backdoor-scan", "--model", str(path), "--data", str(npz)])
    assert r.exit_code == 0, r.output


def test_bad_inputs_are_one_line_and_exit_2(tmp_path, digits_cnn):
    import torch

    data = load_builtin("digits:test")
    small = tmp_path / "small.npz"
    np.savez(small, x=data.x[:30], y=data.y[:30])
    r = runner.invoke(app, ["backdoor-scan", "--model", "builtin:digits-cnn", "--data", str(small)])
    assert r.exit_code == 2 and "at least 40 clean samples" in r.output
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((50, 3, 8, 8), np.float32), y=np.zeros(50, np.int64))
    r = runner.invoke(app, ["backdoor-scan", "--model", "builtin:digits-cnn", "--data", str(wrong)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    hostile = tmp_path / "model.pt"
    hostile.write_bytes(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00idR.")
    r = runner.invoke(app, ["backdoor-scan", "--model", str(hostile), "--data", str(small)])
    assert r.exit_code == 2 and "failed the static scan" in r.output
    path = tmp_path / "clean.pt"
    torch.jit.save(torch.jit.trace(digits_cnn.model, torch.zeros(1, 1, 8, 8)), str(path))
    r = runner.invoke(app, ["backdoor-scan", "--model", str(path), "--data", str(wrong)])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_data_check_exit_codes(tmp_path):
    d = load_builtin("digits:train")
    good = tmp_path / "good.npz"
    np.savez(good, x=d.x, y=d.y)
    r = runner.invoke(app, ["data-check", "--data", str(good), "--json", str(tmp_path / "a.json")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "a.json").read_text())["label_noise"] < 0.01
    rng = np.random.default_rng(0)
    y = d.y.copy()
    idx = rng.choice(len(y), 200, replace=False)
    y[idx] = (y[idx] + 1) % 10
    noisy = tmp_path / "noisy.npz"
    np.savez(noisy, x=d.x, y=y)
    r = runner.invoke(app, ["data-check", "--data", str(noisy)])
    assert r.exit_code == 1 and "DAT-001" not in r.output and "labels" in r.output
    r = runner.invoke(app, ["data-check", "--data", str(noisy), "--fail-on", "bogus"])
    assert r.exit_code == 2
