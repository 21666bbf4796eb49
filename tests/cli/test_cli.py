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
    _write_empty_and_out_of_range_inputs(d)
    return d


def _write_empty_and_out_of_range_inputs(d: Path) -> None:
    """Empty data, empty folders, and configs with numbers outside their ranges."""
    np.savez(d / "empty.npz", x=np.zeros((0, 1, 8, 8), np.float32), y=np.zeros((0,), np.int64))
    (d / "empty.csv").write_text("")
    (d / "header.csv").write_text("a,b,label\n")
    (d / "empty-folder").mkdir()
    (d / "folders-only" / "inner").mkdir(parents=True)
    tests = "tests:\n  - id: evasion.fgsm\n    params: {eps: 0.1}\n"
    builtin = "targets:\n  - name: m\n    builtin: digits-cnn\n"
    (d / "limit0.yaml").write_text(f"{builtin}    limit: 0\n{tests}")
    (d / "seed.yaml").write_text(f"seed: -1\n{builtin}{tests}")
    (d / "shape0.yaml").write_text(
        "targets:\n  - name: m\n    torchscript: model.pt\n    input_shape: [0]\n"
        f"    data: data.npz\n{tests}"
    )
    (d / "emptydata.yaml").write_text(f"{builtin}    data: empty.npz\n{tests}")
    (d / "outputs.yaml").write_text(f"{builtin}    model_outputs: softmax\n{tests}")
    (d / "pgdloss.yaml").write_text(
        f"{builtin}tests:\n  - id: evasion.pgd\n    params: {{eps: 0.1, loss: hinge}}\n"
    )
    curve = ", ".join(str(i / 1000) for i in range(65))
    (d / "curve.yaml").write_text(
        f"{builtin}tests:\n  - id: evasion.fgsm\n    params: {{eps: 0.1, curve: [{curve}]}}\n"
    )


def assert_one_line_error(r: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 2 with one ``aisec: error:`` line on stderr holding ``message``, no traceback."""
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("aisec: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in r.stderr


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
        "0.02,0.1,8/255",
        "--eps",
        "0.2",
        "--eps",
        "0.1",
        "--json",
        "-",
        cwd=outside,
    )
    assert r.returncode == 0, r.stderr
    curve = json.loads(r.stdout)["curve"]
    # fractions are read as numbers; a budget given twice is measured once
    assert [p["eps"] for p in curve] == [0.02, 8 / 255, 0.1, 0.2]
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
    assert_one_line_error(run(*args, cwd=outside), message)


EVADE_FILE = ["evade", "--model", "model.pt", "--data", "data.npz", "--attack", "fgsm"]
EVADE_FILE_EPS = [*EVADE_FILE, "--eps", "0.1"]
EPS_2000 = ",".join(f"{i / 20000:g}" for i in range(2000))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            [*EVADE_FILE_EPS, "--limit", "-5"],
            "--limit: must be at least 1 (a number of samples); got -5",
            id="negative-limit",
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--limit", "0"], "--limit: must be at least 1", id="zero-limit"
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--attack", "sanity"],
            "evasion.sanity checks an evaluation for gradient masking rather than attacking",
            id="sanity-is-not-an-attack",
        ),
        pytest.param(
            ["evade", "--model", "model.pt", "--data", "empty.npz", "--eps", "0.1"],
            "empty.npz has no samples; give at least one",
            id="empty-npz",
        ),
        pytest.param(
            ["evade", "--model", "model.pt", "--data", "empty.csv", "--eps", "0.1"],
            "empty.csv has no samples",
            id="empty-csv",
        ),
        pytest.param(
            ["evade", "--model", "model.pt", "--data", "header.csv", "--eps", "0.1"],
            "header.csv has no samples (only a header)",
            id="header-only-csv",
        ),
        pytest.param(
            [*EVADE_FILE, "--eps", EPS_2000],
            "--eps has 2000 values; at most 64 budgets per run: thin the list",
            id="2000-eps",
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--attack", "pgd", "--steps", "0"],
            "`steps` must be an integer in [1, 100000]; got 0",
            id="zero-steps",
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--attack", "pgd", "--restarts", "0"],
            "`restarts` must be an integer in [1, 1000]; got 0",
            id="zero-restarts",
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--attack", "square", "--queries", "0"],
            "`queries` must be an integer in [1, 10000000]; got 0",
            id="zero-queries",
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--n-classes", "1"],
            "--n-classes: must be at least 2 (a classifier needs two classes); got 1",
            id="one-class",
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--bounds", "1,0"],
            "--bounds: must be [low, high], finite, with low < high; got [1.0, 0.0]",
            id="reversed-bounds",
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--bounds", "0,inf"],
            "--bounds: must be [low, high], finite",
            id="infinite-bounds",
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--bounds", "0,1,2"], "--bounds must look like '0,1'", id="3-bounds"
        ),
        pytest.param(
            [*EVADE_FILE_EPS, "--seed", "-1"],
            "--seed must be a whole number from 0 to 4294967295; got -1",
            id="negative-seed",
        ),
        pytest.param(
            [*EVADE_FILE, "--eps", "1/0"], "not a number: '1/0'", id="eps-division-by-zero"
        ),
        pytest.param(
            ["scan", "empty-folder"],
            "empty-folder holds no files to scan",
            id="scan-empty-folder",
        ),
        pytest.param(
            ["scan", "folders-only"],
            "folders-only holds no files to scan",
            id="scan-folder-of-empty-folders",
        ),
        pytest.param(
            ["assess", "limit0.yaml"],
            "targets.0.limit: must be at least 1 (a number of samples); got 0",
            id="config-zero-limit",
        ),
        pytest.param(
            ["assess", "seed.yaml"],
            "seed: must be a whole number from 0 to 4294967295; got -1",
            id="config-negative-seed",
        ),
        pytest.param(
            ["assess", "shape0.yaml"],
            "targets.0.input_shape: must be a non-empty list of sizes of at least 1",
            id="config-zero-shape",
        ),
        pytest.param(
            ["assess", "emptydata.yaml"],
            "empty.npz has no samples; give at least one",
            id="config-empty-data",
        ),
        pytest.param(
            ["assess", "outputs.yaml"],
            "targets.0.model_outputs",
            id="config-unknown-model-outputs",
        ),
        pytest.param(
            ["assess", "pgdloss.yaml"],
            "`loss`",
            id="config-unknown-pgd-loss",
        ),
        pytest.param(
            ["assess", "curve.yaml"],
            "`curve` has 65 values; at most 64 are allowed: thin the list",
            id="config-long-curve",
        ),
    ],
)
def test_out_of_range_values_give_one_line_naming_the_range(
    outside: Path, args: list[str], message: str
) -> None:
    assert_one_line_error(run(*args, cwd=outside), message)
