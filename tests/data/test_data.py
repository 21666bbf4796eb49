"""Data loading and validation: real files on disk, one-line errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aisec.data import load_builtin, load_csv, load_data, load_npz
from aisec.errors import DataError


def test_builtin_digits_splits_are_disjoint_and_scaled() -> None:
    train, test = load_builtin("digits:train"), load_builtin("digits:test")
    assert train.x.shape[1:] == (1, 8, 8) and len(train) + len(test) == 1797
    assert test.x.min() >= 0.0 and test.x.max() <= 1.0
    assert set(np.unique(test.y)) == set(range(10))


def test_npz_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "d.npz"
    np.savez(p, x=np.random.default_rng(0).random((5, 3)), y=np.array([0, 1, 0, 1, 1]))
    d = load_npz(p)
    assert d.x.dtype == np.float32 and d.y.dtype == np.int64 and len(d) == 5


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((3, 2))}, "lacks array"),
        ({"x": np.zeros((3, 2)), "y": np.zeros((3, 2))}, "one-hot"),
        ({"x": np.zeros((3, 2)), "y": np.array([0.5, 1, 2])}, "whole class"),
        ({"x": np.array([[np.nan, 1.0]] * 3), "y": np.zeros(3, int)}, "NaN"),
        ({"x": np.zeros((3, 2)), "y": np.zeros(4, int)}, "one label per sample"),
        ({"x": np.array([["a", "b"]] * 3), "y": np.zeros(3, int)}, "numeric"),
        ({"x": np.zeros((3, 2)), "y": np.array([0, -1, 1])}, "non-negative"),
    ],
)
def test_bad_npz_files(tmp_path: Path, arrays, message) -> None:
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(DataError, match=message):
        load_npz(p)


def test_object_arrays_are_never_unpickled(tmp_path: Path) -> None:
    p = tmp_path / "obj.npz"
    np.savez(p, x=np.array([{"a": 1}] * 3, dtype=object), y=np.zeros(3, int))
    with pytest.raises(DataError, match="unpickling"):
        load_npz(p)


def test_corrupt_npz(tmp_path: Path) -> None:
    p = tmp_path / "c.npz"
    p.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataError, match=r"not a valid \.npz"):
        load_npz(p)


def test_csv(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("a,b,label\n0.1,0.2,0\n0.3,0.4,1\n")
    d = load_csv(p)
    assert d.x.shape == (2, 2) and d.y.tolist() == [0, 1]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n0.1,high,0\n")
    with pytest.raises(DataError, match="line 2: non-numeric"):
        load_csv(bad)
    with pytest.raises(DataError, match="no column 'target'"):
        load_csv(p, label="target")


def test_load_data_dispatch(tmp_path: Path) -> None:
    assert len(load_data("builtin:digits:test")) == 450
    with pytest.raises(DataError, match="unsupported data file"):
        load_data(tmp_path / "x.parquet")
    with pytest.raises(DataError, match="does not exist"):
        load_data(tmp_path / "missing.npz")
