"""Outcome records of the supply-chain family: model-file scans and integrity manifests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aisec.records.outcome import Outcome


@dataclass(frozen=True)
class ScannedFile:
    """One scanned file and what the scanner found in it."""

    path: str
    """The file as given to the scanner."""
    format: str
    """Detected format, e.g. ``pickle`` or ``safetensors``."""
    size: int
    """Size in bytes."""
    findings: tuple[Mapping[str, Any], ...]
    """The scanner's findings (JSON form of :class:`~aisec.records.Finding`)."""


@dataclass(frozen=True)
class ScanOutcome(Outcome):
    """What the static scan of a target's files found (nothing was deserialised)."""

    kind: ClassVar[str] = "scan"

    paths: tuple[str, ...]
    """Paths given to the scanner."""
    files: tuple[ScannedFile, ...]
    """Every file scanned (archive members are findings' locations)."""
    n_files: int
    """Files scanned."""
    n_findings: int
    """Findings of every severity."""
    by_severity: Mapping[str, int]
    """Findings per severity."""
    max_severity: str | None
    """Worst severity found, None when nothing was found."""


@dataclass(frozen=True)
class ManifestOutcome(Outcome):
    """A folder checked against its integrity manifest."""

    kind: ClassVar[str] = "manifest"

    ok: bool
    """True when nothing changed and the signature (if checked) is valid."""
    signature: str
    """``valid``, ``invalid``, ``absent`` (unsigned), ``unverified`` (no key given) or ``missing``
    (a key was given but the manifest is unsigned)."""
    checked: int
    """Files compared."""
    added: tuple[str, ...]
    """Files present now but not in the manifest."""
    removed: tuple[str, ...]
    """Files in the manifest but missing now."""
    changed: tuple[str, ...]
    """Files whose content differs from the manifest."""
    details: Mapping[str, Mapping[str, Any]]
    """Per changed file: recorded and current size and digest."""
    manifest: str
    """The manifest file."""
    root: str
    """The folder checked."""
    kinds: Mapping[str, str] = field(default_factory=dict)
    """Kind (model, data, config, other) of every added, removed or changed file."""
