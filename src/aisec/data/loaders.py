"""Read data sets from ``.npz`` and CSV files, never unpickling anything."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from aisec.data.dataset import Dataset
from aisec.errors import DataError


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise DataError(f"data file {str(p)!r} does not exist; check the path")
    if not p.is_file():
        raise DataError(f"data path {str(p)!r} is not a file")
    return p


def load_npz(path: str | Path, *, x_key: str = "x", y_key: str = "y") -> Dataset:
    """Load ``x`` and ``y`` arrays from an ``.npz`` file (``allow_pickle`` stays off)."""
    p = _existing(path)
    try:
        with np.load(p, allow_pickle=False) as npz:
            keys = set(npz.files)
            missing = [k for k in (x_key, y_key) if k not in keys]
            if missing:
                raise DataError(
                    f"{p.name} lacks array(s) {', '.join(missing)} (has: {', '.join(sorted(keys)) or 'none'}); "
                    f"save with np.savez(path, {x_key}=inputs, {y_key}=labels)"
                )
            x, y = npz[x_key], npz[y_key]
            if (x.ndim > 0 and x.shape[0] == 0) or y.size == 0:
                raise DataError(f"{p.name} has no samples; give at least one")
    except DataError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(
                f"{p.name} holds object arrays that would need unpickling; store numeric arrays only"
            ) from None
        raise DataError(f"{p.name} is not a valid .npz file: {exc}") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(
            f"{p.name} is not a valid .npz file ({exc}); save it with numpy.savez"
        ) from None
    return from_arrays(x, y, name=p.stem, source=str(p))


def load_csv(path: str | Path, *, label: str = "label") -> Dataset:
    """Load a numeric CSV with a header; column ``label`` holds integer classes."""
    p = _existing(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
    except UnicodeDecodeError:
        raise DataError(f"{p.name} is not UTF-8 text; export the CSV as UTF-8") from None
    if not header:
        raise DataError(f"{p.name} has no samples; give a header row and at least one data row")
    if label not in header:
        raise DataError(
            f"{p.name} has no column {label!r} (columns: {', '.join(header[:20])}); pass the label column"
        )
    li = header.index(label)
    feats, labels = [], []
    for lineno, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise DataError(f"{p.name} line {lineno}: {len(row)} fields, header has {len(header)}")
        try:
            labels.append(int(float(row[li])))
            feats.append([float(v) for i, v in enumerate(row) if i != li])
        except ValueError:
            raise DataError(
                f"{p.name} line {lineno}: non-numeric value; encode categorical columns first"
            ) from None
    if not feats:
        raise DataError(f"{p.name} has no samples (only a header); give at least one data row")
    return from_arrays(np.asarray(feats), np.asarray(labels), name=p.stem, source=str(p))


def from_arrays(x: np.ndarray, y: np.ndarray, *, name: str = "data", source: str = "") -> Dataset:
    """Coerce arrays to float32/int64 with checks, and build a :class:`Dataset`.

    Raises:
        DataError: The arrays are not numeric, the labels are not class indices, or there are
            no samples.
    """
    if not np.issubdtype(np.asarray(x).dtype, np.number):
        raise DataError(f"{name}: x must be numeric; got dtype {np.asarray(x).dtype}")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        raise DataError(
            f"{name}: labels look one-hot encoded {y.shape}; pass class indices (argmax)"
        )
    y = y.reshape(-1) if y.ndim == 2 else y
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(f"{name}: labels must be whole class indices; found non-integer values")
        y = y.astype(np.int64)
    elif not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{name}: labels must be integers; got dtype {y.dtype}")
    return Dataset(
        np.asarray(x, dtype=np.float32), y.astype(np.int64), name=name, meta={"source": source}
    )


def load_data(path: str | Path, *, label: str = "label") -> Dataset:
    """Load ``.npz`` or ``.csv`` by extension; a built-in with ``builtin:NAME``."""
    s = str(path)
    if s.startswith("builtin:"):
        from aisec.data.builtin import load_builtin

        return load_builtin(s.split(":", 1)[1])
    suffix = Path(s).suffix.lower()
    if suffix == ".npz":
        return load_npz(s)
    if suffix == ".csv":
        return load_csv(s, label=label)
    raise DataError(
        f"unsupported data file {s!r}; use .npz (arrays x, y) or .csv (with a label column)"
    )
