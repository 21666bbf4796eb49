"""Paths as they read on any machine, for ids that must not change with where a run happened."""

from __future__ import annotations

from pathlib import Path


def portable_path(path: str | Path, root: Path | None = None) -> str:
    """``path`` relative to ``root`` (default: the working directory) when it lies under it,
    else its file name, in POSIX form (as SARIF locations and fingerprints name files).

    Finding ids built from it are the same on two machines that scan the same project, where
    absolute paths would differ by home directory or checkout location.
    """
    p = Path(path)
    base = (root or Path.cwd()).resolve()
    try:
        resolved = p.resolve()
    except OSError:
        resolved = p
    if resolved.is_relative_to(base) and resolved != base:
        return resolved.relative_to(base).as_posix()
    return resolved.name or p.as_posix()
