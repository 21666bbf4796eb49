"""PyTorch's thread count: one default, overridable with --threads or AISEC_THREADS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from aisec.errors import ConfigError
from aisec.threads import available_cores, default_threads, resolve_threads, use_threads


def test_default_is_half_the_cores_at_least_one(monkeypatch) -> None:
    monkeypatch.delenv("AISEC_THREADS", raising=False)
    assert default_threads() == max(1, available_cores() // 2)
    assert resolve_threads() == default_threads()


def test_environment_and_option_override_in_that_order(monkeypatch) -> None:
    monkeypatch.setenv("AISEC_THREADS", "3")
    assert resolve_threads() == 3
    assert resolve_threads(2) == 2
    for bad, message in (("0", "at least 1"), ("two", "whole number")):
        monkeypatch.setenv("AISEC_THREADS", bad)
        with pytest.raises(ConfigError, match=message):
            resolve_threads()
    with pytest.raises(ConfigError, match="Invalid --threads: must be at least 1"):
        resolve_threads(0)


def test_use_threads_sets_torch() -> None:
    before = torch.get_num_threads()
    try:
        assert use_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_the_cli_refuses_a_bad_thread_count_in_one_line() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "aisec.cli", "evade", "--model", "builtin:digits-cnn",
         "--data", "builtin:digits:test", "--eps", "0.1", "--threads", "0"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=300,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip() == "aisec: error: Invalid --threads: must be at least 1; got 0"
