"""Supply-chain tests an assessment can run: ``supplychain.scan`` and ``supplychain.manifest``.

``supplychain.scan`` scans the target's model file (or the files given as ``paths``, which the
assessment runner fills from the target's ``files:``) with the static scanner and turns every
scanner finding into an assessment finding. ``supplychain.manifest`` checks a folder against an
integrity manifest and reports changed, removed and added files (rules ``MAN-001`` to
``MAN-005`` in docs/findings.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from aisec.base import SecurityTest, partial_result
from aisec.params import AnyValue, Constraint, ListOf, OptionalOf
from aisec.records import Finding, Result, Severity, Status
from aisec.registry import register

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.targets.base import Target

_SCAN_THREATS = ("unsafe-model-serialization", "model-poisoning-supply-chain")


def _source_file(target: Target) -> str | None:
    """The target's model file, when it was loaded from one."""
    try:
        source = target.describe().get("source", "")
    except Exception:  # a third-party target whose describe() fails has no known file
        return None
    return str(source) if source and Path(str(source)).is_file() else None


def _finding_dict(finding: Any) -> dict[str, Any]:
    """A scanner finding as a plain dict with the fields of :class:`aisec.records.Finding`."""
    if isinstance(finding, Finding):
        return finding.to_dict()
    severity = finding.severity
    return {
        "id": str(getattr(finding, "id", "") or finding.rule),
        "rule": str(finding.rule),
        "title": str(getattr(finding, "title", "") or getattr(finding, "message", "")),
        "severity": severity.value if isinstance(severity, Severity) else str(severity),
        "target": str(getattr(finding, "target", "")),
        "evidence": dict(getattr(finding, "evidence", {}) or {}),
        "test_id": "",
        "threats": list(getattr(finding, "threats", ()) or ()),
        "recommendation": str(getattr(finding, "recommendation", "")),
        "location": str(getattr(finding, "location", "")),
    }


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
    threats: ClassVar[tuple[str, ...]] = (*_SCAN_THREATS, "dataset-tampering")
    references: ClassVar[tuple[str, ...]] = (
        "Python pickle documentation, 'Restricting Globals' (arbitrary code execution on load)",
        "NIST AI 100-2 E2025, supply-chain attacks on model files",
    )
    constraints: ClassVar[Mapping[str, Constraint]] = {"paths": OptionalOf(ListOf(AnyValue()))}
    defaults: ClassVar[Mapping[str, Any]] = {"paths": None}
    needs_data: ClassVar[bool] = False
    uses_target_files: ClassVar[bool] = True
    """The assessment planner passes the target's ``files:`` as ``paths``."""

    def _run(
        self, target: Target, data: Dataset | None, params: dict[str, Any], seed: int
    ) -> Result:
        from aisec.supplychain.scan import scan_paths

        paths = [str(p) for p in params["paths"] or []]
        if not paths:
            source = _source_file(target)
            if source is None:
                return partial_result(
                    {},
                    status=Status.SKIPPED,
                    message=f"target {target.name!r} has no model file to scan; list files under "
                    "the target's `files:` or give `paths`",
                )
            paths = [source]
        report = scan_paths([Path(p) for p in paths])
        files = [
            {
                "path": str(fr.path),
                "format": str(fr.format),
                "size": int(fr.size),
                "findings": [_finding_dict(f) for f in fr.findings],
            }
            for fr in report.files
        ]
        counts = {s.value: 0 for s in Severity}
        for fr in files:
            for f in fr["findings"]:
                counts[f["severity"]] = counts.get(f["severity"], 0) + 1
        worst = report.max_severity
        return partial_result(
            {
                "paths": paths,
                "files": files,
                "n_files": len(files),
                "n_findings": sum(counts.values()),
                "by_severity": counts,
                "max_severity": worst.value if worst is not None else None,
            }
        )

    def findings(self, result: Result) -> list[Finding]:
        """Re-create the scanner's findings, attributed to the assessed target."""
        out: list[Finding] = []
        for fr in result.metrics.get("files", []):
            for i, raw in enumerate(fr.get("findings", [])):
                f = Finding.from_dict(raw)
                where = f"{fr['path']}:{f.location}" if f.location else str(fr["path"])
                out.append(
                    dataclasses.replace(
                        f,
                        id=f"{f.rule}:{result.target}:{where}:{i}",
                        target=result.target,
                        test_id=self.id,
                        threats=f.threats or _SCAN_THREATS,
                        location=where,
                        evidence={**dict(f.evidence), "file": fr["path"], "format": fr["format"]},
                    )
                )
        return out


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
    constraints: ClassVar[Mapping[str, Constraint]] = {
        "manifest": AnyValue(),
        "root": OptionalOf(AnyValue()),
        "public_key": OptionalOf(AnyValue()),
    }
    defaults: ClassVar[Mapping[str, Any]] = {"root": None, "public_key": None}
    needs_data: ClassVar[bool] = False

    def _run(
        self, target: Target, data: Dataset | None, params: dict[str, Any], seed: int
    ) -> Result:
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
        return partial_result(
            {
                **verification.to_dict(),
                "manifest": str(manifest_path),
                "root": str(root),
                "kinds": {
                    p: kinds.get(p, "other")
                    for p in (*verification.changed, *verification.removed, *verification.added)
                },
            }
        )

    def findings(self, result: Result) -> list[Finding]:
        """One finding per changed, removed or added file, plus one for a failed signature."""
        m = result.metrics
        out: list[Finding] = []
        kinds = m.get("kinds", {})
        for status, (severity, rule, advice) in _MAN_RULES.items():
            for rel in m.get(status, []):
                kind = kinds.get(rel, "other")
                out.append(
                    Finding(
                        id=f"{rule}:{result.target}:{rel}",
                        rule=rule,
                        title=f"{kind} file {status} since the integrity manifest: {rel}",
                        severity=severity,
                        target=result.target,
                        evidence={
                            "path": rel,
                            "kind": kind,
                            "manifest": m.get("manifest", ""),
                            **m.get("details", {}).get(rel, {}),
                        },
                        test_id=self.id,
                        threats=(_KIND_THREAT.get(kind, "model-poisoning-supply-chain"),),
                        recommendation=advice,
                        location=str(Path(m.get("root", ".")) / rel),
                    )
                )
        signature = m.get("signature")
        if signature in ("invalid", "missing"):
            rule, severity, title, advice = (
                (
                    "MAN-004",
                    Severity.CRITICAL,
                    "integrity manifest signature is invalid",
                    "the manifest was altered or signed by another key; obtain a genuine one",
                )
                if signature == "invalid"
                else (
                    "MAN-005",
                    Severity.HIGH,
                    "integrity manifest is not signed",
                    "sign it with `aisec manifest create --sign-key` and verify with the key",
                )
            )
            out.append(
                Finding(
                    id=f"{rule}:{result.target}",
                    rule=rule,
                    title=title,
                    severity=severity,
                    target=result.target,
                    evidence={"manifest": m.get("manifest", ""), "signature": signature},
                    test_id=self.id,
                    threats=("model-poisoning-supply-chain",),
                    recommendation=advice,
                    location=str(m.get("manifest", "")),
                )
            )
        return out
