"""Supply-chain tests an assessment can run: ``supplychain.scan`` and ``supplychain.manifest``.

``supplychain.scan`` scans the target's model file (or the files given as ``paths``, which the
assessment runner fills from the target's ``files:``) with the static scanner and turns every
scanner finding into an assessment finding. ``supplychain.manifest`` checks a folder against an
integrity manifest and reports changed, removed and added files (rules ``MAN-001`` to
``MAN-005`` in docs/findings.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from aisec.base import Measurement, NotApplicable, SecurityTest
from aisec.findings import SEVERITY_RANKS, FindingRule
from aisec.params import REQUIRED, AnyValue, ListOf, OptionalOf, Param, declare
from aisec.portable import portable_path
from aisec.records import Finding, Severity
from aisec.records.supplychain import ManifestOutcome, ScannedFile, ScanOutcome
from aisec.registry import register

if TYPE_CHECKING:
    from aisec.targets.base import Target

_SCAN_THREATS = ("unsafe-model-serialization", "model-poisoning-supply-chain")


def _source_file(target: Target) -> str | None:
    """The target's model file, when it was loaded from one."""
    try:
        source = target.describe().get("source", "")
    except Exception:  # a third-party target whose describe() fails has no known file
        return None
    return str(source) if source and Path(str(source)).is_file() else None


def _scanned(o: ScanOutcome) -> list[tuple[ScannedFile, int, Finding]]:
    return [(fr, i, Finding.from_dict(raw)) for fr in o.files for i, raw in enumerate(fr.findings)]


def _where(item: tuple[ScannedFile, int, Finding]) -> str:
    fr, _, f = item
    return f"{fr.path}:{f.location}" if f.location else str(fr.path)


def _portable_where(item: tuple[ScannedFile, int, Finding]) -> str:
    """The finding's place with the file as :func:`~aisec.portable.portable_path` writes it."""
    fr, _, f = item
    where = portable_path(fr.path)
    return f"{where}:{f.location}" if f.location else where


SCAN_FINDINGS: FindingRule[ScanOutcome] = FindingRule(
    rule=lambda item: item[2].rule,
    outcome=ScanOutcome,
    each=_scanned,
    measure=lambda item: float(item[2].severity.rank),
    thresholds=SEVERITY_RANKS,
    keep_own_severity=True,
    title=lambda item, s: item[2].title,
    evidence=lambda item: {
        **dict(item[2].evidence),
        "file": item[0].path,
        "format": item[0].format,
    },
    key=lambda item: f"{_portable_where(item)}:{item[1]}",
    threats=lambda item: item[2].threats or _SCAN_THREATS,
    location=_where,
    recommendation=lambda item: item[2].recommendation,
)
"""Every scanner finding, attributed to the assessed target (rules in docs/scanner.md)."""


@register
class SupplyChainScan(SecurityTest):
    """Static scan of the target's model and data files for unsafe serialisation and tampering.

    Nothing is deserialised: the scanner reads the files as bytes. Each scanner finding becomes
    an assessment finding with the scanner's rule id (documented in docs/findings.md).
    """

    id: ClassVar[str] = "supplychain.scan"
    name: ClassVar[str] = "Model file scan"
    family: ClassVar[str] = "supplychain"
    requires = frozenset()
    threats: ClassVar[tuple[str, ...]] = _SCAN_THREATS
    references: ClassVar[tuple[str, ...]] = (
        "Python pickle documentation, 'Restricting Globals' (arbitrary code execution on load)",
        "NIST AI 100-2 E2025, supply-chain attacks on model files",
    )
    parameters = declare(
        paths=Param(
            None, OptionalOf(ListOf(AnyValue())), "Files to scan (default: the model's file)."
        )
    )
    rules = (SCAN_FINDINGS,)
    outcome_type = ScanOutcome
    data_kind = "none"
    uses_target_files: ClassVar[bool] = True

    def _execute(
        self, target: Target, data: Any, params: dict[str, Any], seed: int
    ) -> Measurement | NotApplicable:
        from aisec.supplychain.scan import scan_paths

        paths = [str(p) for p in params["paths"] or []]
        if not paths:
            source = _source_file(target)
            if source is None:
                return NotApplicable(
                    f"target {target.name!r} has no model file to scan; list files under "
                    "the target's `files:` or give `paths`"
                )
            paths = [source]
        report = scan_paths([Path(p) for p in paths])
        files = tuple(
            ScannedFile(
                path=str(fr.path),
                format=str(fr.format),
                size=int(fr.size),
                findings=tuple(f.to_dict() for f in fr.findings),
            )
            for fr in report.files
        )
        counts = {s.value: 0 for s in Severity}
        for fr in files:
            for f in fr.findings:
                counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        worst = report.max_severity
        return Measurement(
            ScanOutcome(
                paths=tuple(paths),
                files=files,
                n_files=len(files),
                n_findings=sum(counts.values()),
                by_severity=counts,
                max_severity=worst.value if worst is not None else None,
            )
        )


# -- integrity manifest -----------------------------------------------------------------------
_KIND_THREAT = {"data": "dataset-tampering"}
_MAN_RULES: dict[str, tuple[Severity, str, str]] = {
    "changed": (
        Severity.HIGH,
        "MAN-001",
        "restore the file from a trusted source, or re-create the manifest after review",
    ),
    "removed": (
        Severity.HIGH,
        "MAN-002",
        "find out who removed it; restore it or re-create the manifest after review",
    ),
    "added": (
        Severity.MEDIUM,
        "MAN-003",
        "review the new file (scan it with `aisec scan`) and re-create the manifest if expected",
    ),
}


def _file_rule(status: str) -> FindingRule[ManifestOutcome]:
    severity, rule, advice = _MAN_RULES[status]

    def items(o: ManifestOutcome) -> list[tuple[ManifestOutcome, str]]:
        paths = {"changed": o.changed, "removed": o.removed, "added": o.added}[status]
        return [(o, rel) for rel in paths]

    def kind(item: tuple[ManifestOutcome, str]) -> str:
        return item[0].kinds.get(item[1], "other")

    return FindingRule(
        rule=rule,
        outcome=ManifestOutcome,
        each=items,
        measure=lambda item: 1.0,
        thresholds={severity: 1.0},
        keep_own_severity=True,
        title=lambda item, s: f"{kind(item)} file {status} since the integrity manifest: {item[1]}",
        evidence=lambda item: {
            "path": item[1],
            "kind": kind(item),
            "manifest": item[0].manifest,
            **item[0].details.get(item[1], {}),
        },
        key=lambda item: item[1],
        threats=lambda item: (_KIND_THREAT.get(kind(item), "model-poisoning-supply-chain"),),
        location=lambda item: str(Path(item[0].root) / item[1]),
        recommendation=advice,
    )


_SIGNATURE = {
    "invalid": (
        "MAN-004",
        Severity.CRITICAL,
        "integrity manifest signature is invalid",
        "the manifest was altered or signed by another key; obtain a genuine one",
    ),
    "missing": (
        "MAN-005",
        Severity.HIGH,
        "integrity manifest is not signed",
        "sign it with `aisec manifest create --sign-key` and verify with the key",
    ),
}


def _signature_rule(status: str) -> FindingRule[ManifestOutcome]:
    rule, severity, title, advice = _SIGNATURE[status]
    return FindingRule(
        rule=rule,
        outcome=ManifestOutcome,
        each=lambda o: [o] if o.signature == status else [],
        measure=lambda o: 1.0,
        thresholds={severity: 1.0},
        keep_own_severity=True,
        title=lambda o, s: title,
        evidence=lambda o: {"manifest": o.manifest, "signature": o.signature},
        threats=("model-poisoning-supply-chain",),
        location=lambda o: o.manifest,
        recommendation=advice,
    )


MANIFEST_RULES = (
    *(_file_rule(status) for status in _MAN_RULES),
    *(_signature_rule(status) for status in _SIGNATURE),
)
"""Rules MAN-001 to MAN-005 (docs/findings.md)."""


@register
class ManifestCheck(SecurityTest):
    """Verify a folder against an integrity manifest (and its Ed25519 signature, if a key is given).

    Detects model or data files swapped, removed or planted after review.
    """

    id: ClassVar[str] = "supplychain.manifest"
    name: ClassVar[str] = "Integrity manifest check"
    family: ClassVar[str] = "supplychain"
    requires = frozenset()
    threats: ClassVar[tuple[str, ...]] = ("model-poisoning-supply-chain", "dataset-tampering")
    references: ClassVar[tuple[str, ...]] = (
        "RFC 8032, Edwards-Curve Digital Signature Algorithm (Ed25519)",
        "FIPS 180-4, Secure Hash Standard (SHA-256)",
    )
    parameters = declare(
        manifest=Param(REQUIRED, AnyValue(), "The manifest file."),
        root=Param(None, OptionalOf(AnyValue()), "Folder to check (default: the manifest's)."),
        public_key=Param(None, OptionalOf(AnyValue()), "Ed25519 public key to verify with."),
    )
    rules = MANIFEST_RULES
    outcome_type = ManifestOutcome
    data_kind = "none"

    def _execute(self, target: Target, data: Any, params: dict[str, Any], seed: int) -> Measurement:
        from aisec.supplychain.manifest import (
            Manifest,
            file_kind,
            load_public_key,
            verify_manifest,
        )

        manifest_path = Path(str(params["manifest"]))
        root = Path(str(params["root"])) if params["root"] else manifest_path.parent
        manifest = Manifest.load(manifest_path)
        key = load_public_key(params["public_key"]) if params["public_key"] else None
        verification = verify_manifest(root, manifest_path, public_key=key)
        kinds = {e.path: e.kind for e in manifest.files}
        kinds.update({rel: file_kind(root / rel) for rel in verification.added})
        return Measurement(
            ManifestOutcome(
                ok=verification.ok,
                signature=verification.signature,
                checked=verification.checked,
                added=tuple(verification.added),
                removed=tuple(verification.removed),
                changed=tuple(verification.changed),
                details={k: dict(v) for k, v in verification.details.items()},
                manifest=str(manifest_path),
                root=str(root),
                kinds={
                    p: kinds.get(p, "other")
                    for p in (*verification.changed, *verification.removed, *verification.added)
                },
            )
        )
