"""The command line as users run it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

AISEC = [sys.executable, "-m", "aisec.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``aisec ARGS`` in a fresh process."""
    return subprocess.run(
        [*AISEC, *args], capture_output=True, text=True, cwd=cwd, env=os.environ.copy(), timeout=300
    )


@pytest.fixture(scope="module")
def outside(tmp_path_factory, digits_cnn, digits_test) -> Path:
    """A TorchScript model and .npz data in a folder outside the project."""
    d = tmp_path_factory.mktemp("outside")
    torch.jit.save(torch.jit.script(digits_cnn.model), str(d / "model.pt"))
    sub = digits_test.subset(100, seed=0)
    np.savez(d / "data.npz", x=sub.x, y=sub.y)
    np.savez(d / "wrong_shape.npz", x=sub.x[:, :, :4, :], y=sub.y)
    np.savez(d / "labels.npz", x=sub.x, y=sub.y + 10)
    nan = sub.x.copy()
    nan[3, 0, 0, 0] = np.nan
    np.savez(d / "nan.npz", x=nan, y=sub.y)
    (d / "bad.yaml").write_text("name: [unclosed\n")
    (d / "misspelt.yaml").write_text(
        "targets:\n  - name: m\n    builtin: digits-cnn\n"
        "tests:\n  - id: evasion.pgd\n    params: {epss: 0.1}\n"
    )
    (d / "badfield.yaml").write_text(
        "targets:\n  - name: m\n    builtin: digits-cnn\n"
        "tests:\n  - id: evasion.pgd\n    params: {eps: 0.1, stpes: 3}\n"
    )
    return d


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("aisec ")


def test_evade_torchscript_from_outside_the_project(outside: Path) -> None:
    out = outside / "pgd.json"
    r = run(
        "evade",
        "--model",
        "model.pt",
        "--data",
        "data.npz",
        "--attack",
        "pgd",
        "--eps",
        "0.3",
        "--json",
        str(out),
        cwd=outside,
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    for key in (
        "n",
        "clean_accuracy",
        "robust_accuracy",
        "attack_success_rate",
        "mean_linf",
        "mean_l2",
        "seconds",
    ):
        assert key in doc
    assert doc["n"] == 100 and doc["clean_accuracy"] > 0.9
    assert doc["robust_accuracy"] <= 0.02
    assert doc["mean_linf"] <= 0.3 + 1e-6


def test_evade_eps_list_gives_a_monotone_curve(outside: Path) -> None:
    r = run(
        "evade",
        "--model",
        "model.pt",
        "--data",
        "data.npz",
        "--attack",
        "fgsm",
        "--eps",
        "0.02,0.1",
        "--eps",
        "0.2",
        "--json",
        "-",
        cwd=outside,
    )
    assert r.returncode == 0, r.stderr
    curve = json.loads(r.stdout)["curve"]
    assert [p["eps"] for p in curve] == [0.02, 0.1, 0.2]
    accs = [p["robust_accuracy"] for p in curve]
    assert accs == sorted(accs, reverse=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["evade", "--model", "missing.pt", "--data", "data.npz", "--eps", "0.1"],
            "does not exist",
        ),
        (
            ["evade", "--model", "model.pt", "--data", "missing.npz", "--eps", "0.1"],
            "does not exist",
        ),
        (["evade", "--model", "model.pt", "--data", "wrong_shape.npz", "--eps", "0.1"], "shape"),
        (
            ["evade", "--model", "model.pt", "--data", "labels.npz", "--eps", "0.1"],
            "labels range from 10",
        ),
        (["evade", "--model", "model.pt", "--data", "nan.npz", "--eps", "0.1"], "NaN"),
        (["evade", "--model", "model.pt", "--data", "data.npz", "--eps", "abc"], "not a number"),
        (["evade", "--model", "model.pt", "--data", "data.npz", "--eps", "-1"], "`eps`"),
        (
            ["evade", "--model", "model.pt", "--data", "data.npz", "--attack", "nope"],
            "unknown attack",
        ),
        (["assess", "bad.yaml"], "not valid YAML"),
        (["assess", "badfield.yaml"], "unknown parameter `stpes`; did you mean `steps`?"),
        (["assess", "misspelt.yaml"], "unknown parameter `epss`; did you mean `eps`?"),
        (
            ["evade", "--model", "model.pt", "--data", "data.npz", "--eps", "8", "--limit", "8"],
            "`eps` must be at most 1 for linf perturbations of inputs in [0, 1]; got 8. "
            "Did you mean 8/255",
        ),
        (["assess", "nothere.yaml"], "does not exist"),
        (["report", "some-run", "--store", "nostore.db"], "no results store"),
    ],
)
def test_bad_inputs_give_one_line_and_exit_2(outside: Path, args: list[str], message: str) -> None:
    r = run(*args, cwd=outside)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("aisec: error: ") and message in lines[0]
    assert "Traceback" not in r.stderr
