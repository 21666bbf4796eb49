"""The SQLite store keeps every finished unit; a SIGKILLed run resumes to the same results."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.records import Result, Status

CONFIG = """
name: resume-test
seed: 3
sanity_checks: false
targets:
  - name: cnn
    builtin: digits-cnn
    data: builtin:digits:test
    limit: 150
tests:
  - id: evasion.pgd
    params: {eps: 0.02, steps: 150}
  - id: evasion.pgd
    params: {eps: 0.03, steps: 150}
  - id: evasion.pgd
    params: {eps: 0.04, steps: 150}
  - id: evasion.pgd
    params: {eps: 0.05, steps: 150}
  - id: evasion.fgsm
    params: {eps: 0.05}
"""


def test_store_round_trips_results_and_artifacts(tmp_path: Path) -> None:
    r = Result(
        test_id="evasion.pgd",
        target="cnn",
        status=Status.OK,
        params={"eps": 0.1},
        metrics={"robust_accuracy": 0.5, "curve": [{"eps": 0.1, "robust_accuracy": 0.5}]},
        per_sample={"success": np.array([True, False]), "l2": np.array([0.1, 0.0])},
        artifacts={"x_adv": np.ones((2, 1, 8, 8), dtype=np.float32)},
        seconds=1.5,
    )
    with ResultStore(tmp_path / "r.db") as store:
        store.create_run("run1", "t", "h", {"a": 1}, "0", 1)
        store.save_result("run1", "k1", 0, r)
    with ResultStore(tmp_path / "r.db") as store:
        [(key, back)] = store.results("run1")
    assert key == "k1"
    assert back.metrics == r.metrics
    assert back.per_sample["success"].tolist() == [True, False]
    assert back.artifacts["x_adv"].shape == (2, 1, 8, 8)


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    from aisec.errors import StoreError

    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite database"):
        ResultStore(bad)


def _comparable(store_path: Path) -> list[dict]:
    with ResultStore(store_path) as store:
        [info] = store.runs()
        assert info.finished is not None
        rows = []
        for _, r in store.results(info.run_id):
            d = r.to_dict()
            d.pop("seconds")
            rows.append(d)
    return rows


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(CONFIG)
    killed_db = tmp_path / "killed.db"
    cmd = [
        sys.executable,
        "-m",
        "aisec.cli",
        "assess",
        str(cfg_path),
        "--store",
        str(killed_db),
        "--out",
        str(tmp_path / "out1"),
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy()
    )
    deadline = time.time() + 120
    stored = 0
    while time.time() < deadline and proc.poll() is None:
        if killed_db.exists():
            try:
                with sqlite3.connect(killed_db) as c:
                    stored = c.execute("SELECT COUNT(*) FROM units").fetchone()[0]
            except sqlite3.OperationalError:
                stored = 0
            if stored >= 2:
                break
        time.sleep(0.05)
    assert proc.poll() is None, (
        f"run finished before it could be killed: {proc.stderr.read().decode()[-500:]}"
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(killed_db) as c:
        kept = c.execute("SELECT COUNT(*) FROM units").fetchone()[0]
        finished = c.execute("SELECT finished FROM runs").fetchone()[0]
    assert kept >= 2 and finished is None  # nothing stored was lost, run is incomplete

    resumed = subprocess.run(
        cmd, capture_output=True, text=True, env=os.environ.copy(), timeout=300
    )
    assert resumed.returncode in (0, 1), resumed.stderr
    assert (
        f"{kept} of 6 units already stored" in resumed.stderr
        or f"{kept} of 5 units already stored" in resumed.stderr
    )

    fresh_db = tmp_path / "fresh.db"
    with ResultStore(fresh_db) as store:
        run_assessment(parse_config(__import__("yaml").safe_load(CONFIG)), store, progress=False)
    assert json.dumps(_comparable(killed_db), sort_keys=True) == json.dumps(
        _comparable(fresh_db), sort_keys=True
    )
