"""The Ray executor on a real local Ray instance (2 CPUs, 127.0.0.1): the same results and
report as the local executor, resume after a killed driver, retries after a killed worker, and
error results for units that fail."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisec.assessment import ResultStore, load_report_data, parse_config, run_assessment
from aisec.assessment.executors.ray_cluster import RayExecutor
from aisec.report.json_report import render_json

HERE = Path(__file__).resolve().parent

if os.environ.get("AISEC_REQUIRE_RAY") != "1":
    pytest.importorskip("ray", reason="the Ray executor tests need the ray extra")
import ray  # noqa: E402
from stored_results import stored_without_timings as _stored  # noqa: E402

# Two targets, four families' worth of units: gradient attacks, a score-based membership test
# with its reference-model sweep, a supply-chain scan of a listed file, and the automatic
# gradient-masking check.
CONFIG = """
name: ray-equal
seed: 5
targets:
  - name: cnn
    builtin: digits-cnn
    data: builtin:digits:test
    limit: 120
  - name: logreg
    builtin: digits-logreg
    limit: 100
tests:
  - id: evasion.pgd
    params: {eps: 0.03, steps: 30}
    targets: [cnn]
  - id: evasion.fgsm
    params: {eps: 0.05}
  - id: inference.membership
    params: {max_samples: 100, references: 4}
    targets: [logreg]
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray instance with 2 CPUs whose workers can import this folder's plugins."""
    import ray_plugins

    for cls in ray_plugins.PLUGINS:
        ray_plugins.register(cls)
    ray.init(
        num_cpus=2,
        address="local",
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(HERE)}},
    )
    try:
        yield
    finally:
        ray.shutdown()
        ray_plugins.unregister()


def _run(cfg: dict[str, Any], db: Path, executor: Any = None) -> tuple[str, Any]:
    with ResultStore(db) as store:
        outcome = run_assessment(parse_config(cfg), store, progress=False, executor=executor)
        return outcome.run_id, load_report_data(store, outcome.run_id)


def _report(data: Any) -> dict[str, Any]:
    """The JSON report without what differs between any two runs (ids, clocks, timings)."""
    doc = json.loads(render_json(data))

    def scrub(v: Any) -> Any:
        if isinstance(v, dict):
            return {
                k: scrub(x)
                for k, x in v.items()
                if k not in {"seconds", "run_id", "created", "finished", "generated", "duration"}
            }
        if isinstance(v, list):
            return [scrub(x) for x in v]
        return v

    doc = scrub(doc)
    doc["run"].pop("id")
    return doc


def test_results_and_report_equal_the_local_executors(cluster: None, tmp_path: Path) -> None:
    cfg = yaml.safe_load(CONFIG)
    _, local = _run(cfg, tmp_path / "local.db")
    _, remote = _run(cfg, tmp_path / "ray.db", RayExecutor(parse_config(cfg).executor))
    a, b = _stored(tmp_path / "local.db"), _stored(tmp_path / "ray.db")
    assert len(a) == 6  # 4 listed units and 2 automatic sanity checks
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], a[key]["result"]["test_id"]
    assert {r.status.value for r in remote.results} == {"ok", "skipped"}
    assert _report(local) == _report(remote)


def test_a_run_started_locally_resumes_on_ray(cluster: None, tmp_path: Path) -> None:
    cfg = yaml.safe_load(CONFIG)
    cfg.update(sanity_checks=False, targets=cfg["targets"][:1], tests=cfg["tests"][:2])
    db = tmp_path / "r.db"
    run_id, _ = _run(cfg, db)
    whole = _stored(db)
    with sqlite3.connect(db) as c:  # as if the local run had stopped before its last unit
        c.execute("UPDATE runs SET finished = NULL")
        c.execute("DELETE FROM units WHERE position = 1")
    cfg["executor"] = {"kind": "ray"}
    with ResultStore(db) as store:
        again = run_assessment(parse_config(cfg), store, progress=False)
    assert (again.run_id, again.resumed, again.units_run) == (run_id, True, 1)
    assert _stored(db) == whole


def test_a_unit_whose_worker_dies_is_retried_then_stored(cluster: None, tmp_path: Path) -> None:
    marker = tmp_path / "first-attempt"
    cfg = yaml.safe_load(CONFIG)
    cfg.update(sanity_checks=False, targets=cfg["targets"][:1])
    cfg["tests"] = [
        {"id": "evasion.fgsm", "params": {"eps": 0.05}},
        {"id": "testing.fgsm-crash-once", "params": {"eps": 0.05, "marker": str(marker)}},
    ]
    config = parse_config(cfg)
    _, data = _run(cfg, tmp_path / "r.db", RayExecutor(config.executor))
    assert marker.is_file()  # the first attempt ran, and its process died
    plain, crashed = data.results
    assert crashed.status.value == "ok", crashed.message
    assert crashed.outcome.robust_accuracy == plain.outcome.robust_accuracy


def test_failing_units_become_error_results(cluster: None, tmp_path: Path) -> None:
    cfg = yaml.safe_load(CONFIG)
    cfg.update(sanity_checks=False, targets=cfg["targets"][:1])
    cfg["executor"] = {"kind": "ray", "max_retries": 1}
    cfg["tests"] = [
        {"id": "testing.fgsm-always-crash", "params": {"eps": 0.05}},
        {"id": "testing.fgsm-broken", "params": {"eps": 0.05}},
        {"id": "evasion.fgsm", "params": {"eps": 0.05}},
    ]
    _, data = _run(cfg, tmp_path / "r.db")
    died, broken, fine = data.results
    assert died.status.value == "error"
    assert "died 2 time(s)" in died.message and "memory_gb" in died.message
    assert broken.status.value == "error"
    assert broken.message.startswith("RuntimeError: the attack broke on purpose (at ray_plugins.py")
    assert fine.status.value == "ok"
    run_failures = [f for f in data.findings if f.rule == "RUN-001"]
    assert {f.test_id for f in run_failures} == {"testing.fgsm-always-crash", "testing.fgsm-broken"}
    # The same bug gives the same error result with the local executor.
    cfg["executor"] = {"kind": "local"}
    cfg["tests"] = cfg["tests"][1:2]
    _, local = _run(cfg, tmp_path / "local.db")
    assert local.results[0].message == broken.message


def test_shipped_files_are_used_where_the_driver_path_is_unreadable(
    cluster: None, tmp_path: Path
) -> None:
    """Workers that cannot read the driver's files get copies through the object store."""
    import numpy as np

    from aisec.data.builtin import load_builtin

    digits = load_builtin("digits:test").subset(60, seed=0)
    data = tmp_path / "digits.npz"
    np.savez(data, x=digits.x, y=digits.y)
    cfg = yaml.safe_load(CONFIG)
    cfg.update(sanity_checks=False, targets=[{**cfg["targets"][0], "data": str(data)}])
    cfg["tests"] = [{"id": "evasion.fgsm", "params": {"eps": 0.05}}]
    config = parse_config(cfg)
    _, local = _run(cfg, tmp_path / "local.db")
    cache = Path(os.environ["AISEC_CACHE_DIR"]) / "shipped"
    _, remote = _run(cfg, tmp_path / "ray.db", RayExecutor(config.executor, ship_always=True))
    copies = [p for p in cache.rglob("digits.npz")]
    assert copies, "the worker read the driver's path instead of the shipped copy"
    assert _stored(tmp_path / "local.db") == _stored(tmp_path / "ray.db")
    assert remote.results[0].outcome.robust_accuracy == local.results[0].outcome.robust_accuracy


def test_a_unit_no_node_can_host_stops_the_run_in_one_line(cluster: None, tmp_path: Path) -> None:
    from aisec.errors import ExecutorError

    cfg = yaml.safe_load(CONFIG)
    cfg.update(sanity_checks=False, executor={"kind": "ray"})
    cfg["tests"] = [{"id": "evasion.fgsm", "params": {"eps": 0.05}, "resources": {"gpus": 1}}]
    with pytest.raises(ExecutorError) as info:
        _run(cfg, tmp_path / "r.db")
    assert "evasion.fgsm on cnn asks for 1 CPU, 1 GPU, more than any node" in str(info.value)
    with ResultStore(tmp_path / "r.db") as store:
        assert all(run.units_done == 0 for run in store.runs())


# A driver killed mid-run: units of about a second each, so several are stored before the kill.
SLOW = """
name: ray-resume
seed: 3
sanity_checks: false
executor: {kind: ray}
targets:
  - name: cnn
    builtin: digits-cnn
    data: builtin:digits:test
    limit: 150
tests:
"""


def _assess(cfg: Path, db: Path, **kw: Any) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "aisec.cli", "assess", str(cfg), "--store", str(db),
           "--output", str(db.parent / "out"), "--no-progress"]  # fmt: skip
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=os.environ.copy(), **kw)


def _rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db, timeout=60) as c:
        return dict(c.execute("SELECT unit_key, rowid FROM units").fetchall())


def test_a_killed_driver_resumes_without_redoing_stored_units(tmp_path: Path) -> None:
    steps = [{"id": "evasion.pgd", "params": {"eps": 0.01 * i, "steps": 200}} for i in range(1, 9)]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SLOW + yaml.safe_dump(steps))
    db = tmp_path / "r.db"
    driver = _assess(cfg, db, start_new_session=True)  # its own group: Ray's processes die too
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and driver.poll() is None:
        if db.is_file() and len(_rows(db)) >= 2:
            break
        time.sleep(0.2)
    assert driver.poll() is None, driver.stderr.read() if driver.stderr else ""
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(timeout=60)
    before = _rows(db)
    assert 2 <= len(before) < 8
    again = _assess(cfg, db)
    _, err = again.communicate(timeout=600)
    assert again.returncode in (0, 1), err
    assert f"{len(before)} of 8 units already stored" in err
    after = _rows(db)
    assert len(after) == 8
    assert {k: after[k] for k in before} == before  # stored units were not computed again
    with ResultStore(db) as store:
        [run] = store.runs()
        assert run.finished is not None


def test_without_ray_installed_the_cli_says_how_to_install_it(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from aisec.cli.main import run\n"
        f"sys.argv = ['aisec', 'assess', {str(cfg)!r}, '--executor', 'ray', '--store', "
        f"{str(tmp_path / 'r.db')!r}, '--no-progress']\n"
        "run()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == ["aisec: error: the Ray executor needs Ray: pip install 'aisec[ray]'"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--address", "127.0.0.1:9"], "nothing answers at Ray address 127.0.0.1:9"),
        (["--address", "cluster"], "the Ray address must be auto, HOST:PORT or ray://HOST:PORT"),
        (["--executor", "dask"], "--executor must be one of local, ray; got 'dask'"),
        (["--executor", "local", "--address", "auto"], "use it with --executor ray"),
    ],
)
def test_bad_executor_options_are_one_line_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    cmd = [sys.executable, "-m", "aisec.cli", "assess", str(cfg), "--store",
           str(tmp_path / "r.db"), "--no-progress", *args]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r.db").exists() or not _rows(tmp_path / "r.db")
