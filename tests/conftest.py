"""Shared fixtures: real built-in models trained once per session on real data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One cache per test session machine-wide, so built-ins train once and tests stay fast.
os.environ.setdefault(
    "AISEC_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".aisec" / "test-cache")
)
os.environ.setdefault(
    "OMP_NUM_THREADS", "1"
)  # two cores shared with other jobs: no oversubscription


@pytest.fixture(scope="session")
def digits_cnn():
    """The built-in ``digits-cnn`` (a real CNN trained on scikit-learn's digits)."""
    from aisec.targets import load_builtin_target

    return load_builtin_target("digits-cnn")


@pytest.fixture(scope="session")
def digits_logreg():
    """The built-in ``digits-logreg`` (scikit-learn logistic regression)."""
    from aisec.targets import load_builtin_target

    return load_builtin_target("digits-logreg")


@pytest.fixture(scope="session")
def digits_test():
    """The held-out digits split (450 images, 1x8x8 in [0, 1])."""
    from aisec.data import load_builtin

    return load_builtin("digits:test")


@pytest.fixture(scope="session")
def digits_small(digits_test):
    """A fixed 120-sample subset of the test split, for fast attack tests."""
    return digits_test.subset(120, seed=0)
