"""A verified cache of built-in weights: safetensors files next to their SHA-256."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """``$AISEC_CACHE_DIR`` or the platform's user cache directory for aisec."""
    env = os.environ.get("AISEC_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("aisec"))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cached_tensors(key: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Return the tensors cached under ``key``, building and caching them when missing or corrupt."""
    from safetensors.numpy import load_file, save_file

    folder = cache_dir() / "models"
    path = folder / f"{key}.safetensors"
    digest = folder / f"{key}.sha256"
    if path.is_file() and digest.is_file():
        try:
            if digest.read_text().strip() == sha256_file(path):
                return load_file(str(path))
        except Exception:  # any unreadable cache is rebuilt below
            pass
    tensors = {k: np.ascontiguousarray(v) for k, v in build().items()}
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    save_file(tensors, str(tmp))
    os.replace(tmp, path)
    digest.write_text(sha256_file(path) + "\n")
    return tensors
