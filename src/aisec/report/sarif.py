"""SARIF 2.1.0 rendering of findings, for code-scanning tools (GitHub, GitLab, Azure DevOps).

The log validates against the OASIS schema ``sarif-schema-2.1.0.json``.

* **Rules.** ``tool.driver.rules`` has one entry per rule id, described by the documented rule
  (:data:`aisec.findings.RULE_DOCS` for the assessment's rules,
  :data:`aisec.supplychain.scan.rules.RULES` for the scanner's), never by one of its findings.
  A rule's default level and ``security-severity`` are those of its most severe result.
* **Locations.** A result points at the file its finding is about: the scanned file, the file
  named by a manifest finding, or the model file (``source``) of the target an attack ran on. The
  URI is relative to the working directory, with ``uriBaseId`` ``SRCROOT``, when the file lies
  under it, and an absolute ``file:`` URI otherwise. A target with no file (a built-in model)
  gets a logical location instead.
* **Fingerprints.** ``partialFingerprints["aisecFinding/v1"]`` and ``correlationGuid`` are
  computed from the rule, the target, the test, the file as a relative path (or its name when it
  lies outside the working directory), the location inside the file and the finding's key, so
  the same finding has the same fingerprint on every machine and from every folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath, PureWindowsPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aisec import __version__
from aisec.findings import RULE_DOCS
from aisec.records import Finding, Severity
from aisec.supplychain.scan.rules import RULES

if TYPE_CHECKING:
    from aisec.report.model import ReportData

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "SRCROOT"
"""The ``uriBaseId`` of relative locations: the folder aisec ran in (not written to the log)."""
FINGERPRINT = "aisecFinding/v1"
"""The key of aisec's fingerprint in ``partialFingerprints``."""

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
#: GitHub code scanning reads ``security-severity`` (0-10) to rank security alerts.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_SCAN_TEST = "supplychain.scan"
_MANIFEST_TEST = "supplychain.manifest"
_GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:aisec:sarif:finding")
_URI_SAFE = "/@-._~!$&'()*+,;="
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def target_sources(targets: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{target name: source}`` from a report's target descriptions (``ReportData.targets``)."""
    return {str(t["name"]): str(t.get("source") or "") for t in targets if t.get("name")}


def report_to_sarif(data: ReportData, tool_name: str = "aisec") -> dict[str, Any]:
    """Render a run's findings as SARIF, locating attack findings at their targets' files."""
    return findings_to_sarif(list(data.findings), tool_name, sources=target_sources(data.targets))


def _rule_descriptor(
    rule_id: str, override: Mapping[str, str], results: Sequence[Finding]
) -> dict[str, Any]:
    """The reporting descriptor of ``rule_id``: its documented text, never a finding's."""
    doc = RULE_DOCS.get(rule_id)
    scanner = RULES.get(rule_id)
    if doc is not None:
        name, short, full, advice, docs = doc.name, doc.summary, doc.description, "", doc.docs
    elif scanner is not None:
        name = re.sub(r"[^A-Za-z0-9]", "", scanner.title.title())
        short = scanner.title
        full = (
            f"{scanner.title}, found statically by the model-file scanner (default severity "
            f"{scanner.severity.value})."
        )
        advice, docs = scanner.recommendation, scanner.docs
    else:
        name = "Rule" + re.sub(r"[^A-Za-z0-9]", "", rule_id)
        short = f"Finding of rule {rule_id}"
        full = f"A finding of rule {rule_id}, which this version of aisec does not document."
        advice, docs = "", "docs/findings.md"
    if "name" in override:
        short = override["name"]
        name = re.sub(r"[^A-Za-z0-9]", "", short.title())[:100] or name
    advice = override.get("help", advice)
    worst = max((f.severity for f in results), key=lambda s: s.rank)
    threats = sorted({t for f in results for t in f.threats})
    return {
        "id": rule_id,
        "name": name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": " ".join(p for p in (advice, f"Documented in {docs}.") if p)},
        "defaultConfiguration": {"level": _LEVEL[worst]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[worst],
            "tags": ["security", *threats],
            "documentation": docs,
        },
    }


def _file_source(source: str) -> str | None:
    """The target's ``source`` when it names a file (not ``builtin:NAME``, a URL or a name)."""
    if not source:
        return None
    if PureWindowsPath(source).drive:
        return source
    if _SCHEME.match(source):
        return None
    if PurePath(source).is_absolute() or "/" in source or "\\" in source or Path(source).is_file():
        return source
    return None


def _within(location: str, file: str) -> str:
    """``location`` without the leading ``file:`` an assessment puts before scanner locations."""
    if location == file:
        return ""
    return location[len(file) + 1 :] if location.startswith(file + ":") else location


def _file_of(f: Finding, sources: Mapping[str, str]) -> tuple[str | None, str]:
    """The file a finding is about (None when there is none) and the location inside it."""
    scanned = f.evidence.get("file")
    if isinstance(scanned, str) and scanned:  # a scanner finding inside an assessment
        return scanned, _within(f.location, scanned)
    if f.test_id == _SCAN_TEST or f.rule.startswith("SCN-"):  # `aisec scan`: the target's a file
        return f.target, f.location
    if f.test_id == _MANIFEST_TEST and f.location:  # the changed file or the manifest
        return f.location, ""
    return _file_source(sources.get(f.target, "")), f.location


def _artifact(path: str, root: Path) -> tuple[dict[str, str], str]:
    """The ``artifactLocation`` of ``path`` and the machine-independent name of the file.

    Under ``root``: the relative path, against ``SRCROOT``. Elsewhere: an absolute ``file:``
    URI, and only the file name is machine-independent.
    """
    win = PureWindowsPath(path)
    if os.sep == "/" and win.drive and win.is_absolute():  # recorded on Windows, shown here
        return {"uri": win.as_uri()}, win.name
    absolute = Path(os.path.abspath(root / path))
    bases = dict.fromkeys((Path(os.path.abspath(root)), Path(os.path.realpath(root))))
    for candidate in (absolute, Path(os.path.realpath(absolute))):
        for base in bases:
            if candidate != base and candidate.is_relative_to(base):
                rel = candidate.relative_to(base).as_posix()
                return {"uri": quote(rel, safe=_URI_SAFE), "uriBaseId": SRCROOT}, rel
    return {"uri": absolute.as_uri()}, absolute.name


def _byte_offset(location: str) -> int | None:
    """The byte offset of a top-level ``offset N`` location (not one inside a member)."""
    m = re.fullmatch(r"offset (\d+)", location)
    return int(m.group(1)) if m else None


def findings_to_sarif(
    findings: Sequence[Finding],
    tool_name: str = "aisec",
    rules_help: Mapping[str, Mapping[str, str]] | None = None,
    *,
    sources: Mapping[str, str] | None = None,
    root: str | Path | None = None,
) -> dict[str, Any]:
    """Render findings as one SARIF 2.1.0 log with a single run.

    Args:
        findings: Findings to report, in order.
        tool_name: Name of the tool driver.
        rules_help: Optional ``{rule_id: {"name", "help"}}`` replacing a rule's documented short
            description and help text.
        sources: ``{target name: source}`` (see :func:`target_sources`): where the model of each
            target comes from, used to locate the findings of tests that ran on it.
        root: The folder relative locations are relative to (default: the working directory).

    Returns:
        A JSON-serialisable SARIF log.
    """
    rules_help = rules_help or {}
    sources = sources or {}
    base = Path(root) if root is not None else Path.cwd()
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(f)
    index = {rid: i for i, rid in enumerate(by_rule)}
    rules = [
        _rule_descriptor(rid, rules_help.get(rid, {}), results) for rid, results in by_rule.items()
    ]
    seen: Counter[str] = Counter()
    results = []
    for f in findings:
        file, inner = _file_of(f, sources)
        location: dict[str, Any] = {}
        logical: list[dict[str, str]] = []
        portable = ""
        if file is not None:
            artifact, portable = _artifact(file, base)
            physical: dict[str, Any] = {"artifactLocation": artifact}
            offset = _byte_offset(inner)
            if offset is not None:
                physical["region"] = {"byteOffset": offset}
            location["physicalLocation"] = physical
        else:
            source = sources.get(f.target, "")
            logical.append(
                {
                    "name": f.target,
                    "fullyQualifiedName": source if source.startswith("builtin:") else f.target,
                    "kind": "module",
                }
            )
        if inner:
            logical.append({"fullyQualifiedName": inner, "kind": "member"})
        if logical:
            location["logicalLocations"] = logical
        target = portable if file is not None and f.target == file else f.target
        key = f.id.replace(file, portable) if file and portable else f.id
        material = "\x1f".join((f.rule, target, f.test_id, portable, inner, key))
        seen[material] += 1
        if seen[material] > 1:  # the same finding twice in one log: keep the results apart
            material += f"\x1f{seen[material]}"
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _LEVEL[f.severity],
                "message": {"text": f.title},
                "locations": [location],
                "partialFingerprints": {
                    FINGERPRINT: hashlib.sha256(material.encode("utf-8")).hexdigest()
                },
                "correlationGuid": str(uuid.uuid5(_GUID_NAMESPACE, material)),
                "properties": {
                    "findingId": key,
                    "severity": f.severity.value,
                    "target": target,
                    "testId": f.test_id,
                    "threats": list(f.threats),
                    "recommendation": f.recommendation,
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool_name,
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
