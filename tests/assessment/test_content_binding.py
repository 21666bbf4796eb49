"""A run is bound to the content it measured: a changed model starts a new run, a failed start
leaves no run to resume, and two processes on one store never compute the same unit."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from rich.console import Console

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.errors import DataError, StoreError
from aisec.targets.builtin.digits import DigitsCNN

CONFIG = """
name: bound
seed: 0
sanity_checks: false
targets:
  - name: cnn
    torchscript: model.pt
    input_shape: [1, 8, 8]
    data: data.npz
tests:
  - id: evasion.fgsm
    params: {eps: 0.05}
  - id: evasion.fgsm
    params: {eps: 0.1}
  - id: evasion.pgd
    params: {eps: 0.1, steps: 5}
"""


@pytest.fixture
def project(tmp_path, digits_cnn, digits_small, monkeypatch) -> Path:
    """A TorchScript model and .npz data in a folder the config names relatively."""
    monkeypatch.chdir(tmp_path)
    torch.jit.save(torch.jit.script(digits_cnn.model), "model.pt")
    np.savez("data.npz", x=digits_small.x, y=digits_small.y)
    (tmp_path / "c.yaml").write_text(CONFIG)
    return tmp_path


def _config():
    return parse_config(yaml.safe_load(CONFIG), "test")


def _interrupt(db: Path) -> None:
    """Make the run look killed after its first unit: drop the others, unset ``finished``."""
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM units WHERE position > 0")
        c.execute("UPDATE runs SET finished = NULL")


def _clean_accuracies(store: ResultStore, run_id: str) -> list[float]:
    return [r.outcome.clean_accuracy for _, r in store.results(run_id)]


def test_a_swapped_model_starts_a_new_run_instead_of_resuming(project) -> None:
    db = project / "r.db"
    with ResultStore(db) as store:
        first = run_assessment(_config(), store, progress=False).run_id
    _interrupt(db)
    torch.manual_seed(1)
    torch.jit.save(torch.jit.script(DigitsCNN().eval()), "model.pt")  # an untrained model
    out = io.StringIO()
    with ResultStore(db) as store:
        with pytest.raises(
            StoreError, match=r"model\.pt changed since run .*; run without --resume"
        ):
            run_assessment(_config(), store, resume=first, progress=False)
        second = run_assessment(
            _config(), store, progress=False, console=Console(file=out, width=200)
        )
        assert second.run_id != first and not second.resumed and second.units_run == 3
        assert f"model.pt changed since run {first}; starting a new run." in out.getvalue()
        new = _clean_accuracies(store, second.run_id)
        old = _clean_accuracies(store, first)
    assert len(set(new)) == 1 and new[0] < 0.5 < old[0]  # one model per run, never mixed


def test_changed_data_is_named_too(project, digits_small) -> None:
    db = project / "r.db"
    with ResultStore(db) as store:
        first = run_assessment(_config(), store, progress=False).run_id
    _interrupt(db)
    np.savez("data.npz", x=digits_small.x[::-1].copy(), y=digits_small.y[::-1].copy())
    out = io.StringIO()
    with ResultStore(db) as store:
        again = run_assessment(_config(), store, progress=False, console=Console(file=out))
    assert again.run_id != first
    assert f"data.npz changed since run {first}" in out.getvalue()


def test_same_content_resumes(project) -> None:
    db = project / "r.db"
    with ResultStore(db) as store:
        first = run_assessment(_config(), store, progress=False).run_id
    _interrupt(db)
    with ResultStore(db) as store:
        again = run_assessment(_config(), store, progress=False)
    assert again.run_id == first and again.resumed and again.units_run == 2


def test_a_failed_start_leaves_no_run_to_resume(project) -> None:
    os.remove("data.npz")
    db = project / "r.db"
    with ResultStore(db) as store:
        with pytest.raises(DataError):
            run_assessment(_config(), store, progress=False)
        assert store.runs() == []


SCRIPT = """
import json, sys, yaml
from aisec.assessment import ResultStore, parse_config, run_assessment
config = parse_config(yaml.safe_load(open(sys.argv[1])), "c")
with ResultStore(sys.argv[2]) as store:
    o = run_assessment(config, store, progress=False)
print(json.dumps({"run": o.run_id, "computed": o.units_run}))
"""

SLOW = CONFIG.replace("steps: 5", "steps: 200").replace(
    "{eps: 0.05}", "{eps: 0.05, curve: [0.01, 0.02]}"
)


def test_two_processes_on_one_store_compute_each_unit_once(project) -> None:
    (project / "slow.yaml").write_text(
        SLOW
        + "".join(
            f"  - id: evasion.pgd\n    params: {{eps: {e}, steps: 200}}\n"
            for e in (0.02, 0.03, 0.04)
        )
    )
    cmd = [sys.executable, "-c", SCRIPT, "slow.yaml", "shared.db"]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-800:] for _, e in outs]
    reports = [json.loads(o.strip().splitlines()[-1]) for o, _ in outs]
    assert reports[0]["run"] == reports[1]["run"]
    with ResultStore(project / "shared.db") as store:
        info = store.run(reports[0]["run"])
        assert info.finished is not None and info.units_done == info.units_total == 6
    assert reports[0]["computed"] + reports[1]["computed"] == 6
