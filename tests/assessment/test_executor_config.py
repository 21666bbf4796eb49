"""The ``executor:`` section and per-test ``resources:``: validated in one line each, and not
part of a run's identity (a run started with one executor resumes with the other)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.assessment.executors.local import LocalExecutor
from aisec.assessment.plan import config_hash, expand
from aisec.errors import ConfigError

BASE = """
name: executor-config
sanity_checks: false
targets:
  - name: cnn
    builtin: digits-cnn
    limit: 30
tests:
  - id: evasion.fgsm
    params: {eps: 0.05}
  - id: evasion.fgsm
    params: {eps: 0.1}
"""


def _cfg(**extra: Any) -> dict[str, Any]:
    return {**yaml.safe_load(BASE), **extra}


@pytest.mark.parametrize(
    ("executor", "message"),
    [
        ({"kind": "dask"}, "executor.kind: must be one of 'local' or 'ray'; got 'dask'"),
        ({"kind": "ray", "address": "head"}, "must be auto, HOST:PORT or ray://HOST:PORT"),
        ({"kind": "ray", "address": "ray://head:99999"}, "HOST:PORT or ray://HOST:PORT"),
        ({"max_retries": -1}, "executor.max_retries: Input should be greater than or equal to 0"),
        ({"max_in_flight": 0}, "executor.max_in_flight: Input should be greater than or equal"),
        ({"resources": {"cpus": 0}}, "executor.resources.cpus: Input should be greater than 0"),
        ({"resources": {"gpu": 1}}, "executor.resources.gpu: unknown field"),
    ],
)
def test_bad_executor_sections_name_the_field(executor: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_cfg(executor=executor))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_units_carry_their_tests_resources_or_the_executors() -> None:
    cfg = _cfg(executor={"kind": "ray", "resources": {"cpus": 0.5}})
    cfg["tests"][1]["resources"] = {"cpus": 2, "gpus": 1, "memory_gb": 3}
    first, second = expand(parse_config(cfg))
    assert (first.resources.cpus, first.resources.gpus, first.resources.memory_gb) == (0.5, 0, None)
    assert (second.resources.cpus, second.resources.gpus, second.resources.memory_gb) == (2, 1, 3)


def test_where_units_run_is_not_part_of_the_run(tmp_path: Path) -> None:
    plain = parse_config(_cfg())
    elsewhere = _cfg(executor={"kind": "ray", "address": "auto", "max_retries": 5})
    elsewhere["tests"][0]["resources"] = {"cpus": 2}
    moved = parse_config(elsewhere)
    assert config_hash(plain) == config_hash(moved)
    assert [u.key for u in expand(plain)] == [u.key for u in expand(moved)]
    db = tmp_path / "r.db"
    with ResultStore(db) as store:
        first = run_assessment(plain, store, progress=False)
    with sqlite3.connect(db) as c:  # as if the run had stopped before its second unit
        c.execute("UPDATE runs SET finished = NULL")
        c.execute("DELETE FROM units WHERE position = 1")
    with ResultStore(db) as store:
        again = run_assessment(moved, store, progress=False, executor=LocalExecutor())
    assert again.run_id == first.run_id and again.resumed
    assert (again.units_skipped_as_done, again.units_run) == (1, 1)
