"""Data loading and validation: real files on disk, one-line errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aisec.data import Dataset, Splits, load_builtin, load_csv, load_data, load_npz
from aisec.data.loaders import from_arrays
from aisec.data.splits import TEST, TRAIN
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


def test_an_empty_npz_is_refused_by_name(tmp_path: Path) -> None:
    p = tmp_path / "data.npz"
    np.savez(p, x=np.zeros((0, 1, 8, 8), np.float32), y=np.zeros((0,), np.int64))
    with pytest.raises(DataError, match=r"^data\.npz has no samples; give at least one$"):
        load_npz(p)
    with pytest.raises(DataError, match="no samples"):
        load_data(p)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"^e\.csv has no samples; give a header row and at least one data row$"),
        ("a,b,label\n", r"^e\.csv has no samples \(only a header\); give at least one data row$"),
        ("a,b,label\n\n\n", r"no samples \(only a header\)"),
        ("label\n0\n1\n", r"samples have no features \(shape \(2, 0\)\)"),
    ],
)
def test_an_empty_csv_is_refused(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "e.csv"
    p.write_text(text)
    with pytest.raises(DataError, match=message):
        load_csv(p)


def test_a_dataset_never_holds_zero_samples(digits_test) -> None:
    with pytest.raises(DataError, match=r"^none has no samples; give at least one$"):
        Dataset(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), "none")
    with pytest.raises(DataError, match="no samples"):
        from_arrays(np.zeros((0, 3)), np.zeros(0, int), name="arrays")
    assert "\n" not in str(DataError("x"))


@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_a_subset_needs_at_least_one_sample(digits_test, n) -> None:
    with pytest.raises(DataError, match="subset size must be a whole number of at least 1"):
        digits_test.subset(n)


def test_a_subset_of_one_or_of_more_than_all(digits_test) -> None:
    assert len(digits_test.subset(1, seed=4)) == 1
    assert len(digits_test.subset(np.int64(7))) == 7
    assert digits_test.subset(10_000) is digits_test


def test_a_split_that_would_be_empty_names_its_fraction(digits_test) -> None:
    few = digits_test.subset(10, seed=0)
    with pytest.raises(DataError, match=r"split 'test' gets no samples at fraction 0\.01 of 10"):
        Splits.split(few, {TRAIN: 0.5, TEST: 0.01})
