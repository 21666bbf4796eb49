"""SARIF 2.1.0 rendering of findings, for code-scanning tools (GitHub, GitLab, Azure DevOps).

The log validates against the OASIS schema ``sarif-schema-2.1.0.json``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath, PurePosixPath
from typing import Any
from urllib.parse import quote

from aisec import __version__
from aisec.records import Finding, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

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


def _uri(target: str) -> str:
    """A URI reference for a file path or a target name."""
    if not target:
        return "unknown"
    path = PurePath(target)
    if path.is_absolute():
        return (
            PurePosixPath(path.as_posix()).as_uri()
            if path.as_posix().startswith("/")
            else ("file:///" + quote(path.as_posix()))
        )
    return quote(path.as_posix(), safe="/:@-._~!$&'()*+,;=")


def _byte_offset(location: str) -> int | None:
    """The byte offset of a top-level ``offset N`` location (not one inside a member)."""
    m = re.fullmatch(r"offset (\d+)", location)
    return int(m.group(1)) if m else None


def findings_to_sarif(
    findings: Sequence[Finding],
    tool_name: str = "aisec",
    rules_help: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """Render findings as one SARIF 2.1.0 log with a single run.

    Args:
        findings: Findings to report, in order.
        tool_name: Name of the tool driver.
        rules_help: Optional ``{rule_id: {"name", "help", "severity"}}`` used to describe rules;
            rules without an entry are described from their first finding.

    Returns:
        A JSON-serialisable SARIF log.
    """
    rules_help = rules_help or {}
    rule_ids: list[str] = []
    first: dict[str, Finding] = {}
    for f in findings:
        if f.rule not in first:
            first[f.rule] = f
            rule_ids.append(f.rule)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = []
    for rid in rule_ids:
        meta = rules_help.get(rid, {})
        f = first[rid]
        severity = Severity.parse(meta.get("severity", f.severity.value))
        rules.append(
            {
                "id": rid,
                "name": re.sub(r"[^A-Za-z0-9]", "", meta.get("name", f.title).title())[:100] or rid,
                "shortDescription": {"text": meta.get("name", f.title)},
                "help": {"text": meta.get("help", f.recommendation) or f.title},
                "defaultConfiguration": {"level": _LEVEL[severity]},
                "properties": {
                    "security-severity": _SECURITY_SEVERITY[severity],
                    "tags": ["security", *f.threats],
                },
            }
        )
    results = []
    for f in findings:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.target)}}
        offset = _byte_offset(f.location)
        if offset is not None:
            physical["region"] = {"byteOffset": offset}
        location: dict[str, Any] = {"physicalLocation": physical}
        if f.location:
            location["logicalLocations"] = [{"fullyQualifiedName": f.location, "kind": "member"}]
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _LEVEL[f.severity],
                "message": {"text": f.title},
                "locations": [location],
                "partialFingerprints": {"aisecFindingId": f.id},
                "properties": {
                    "severity": f.severity.value,
                    "threats": list(f.threats),
                    "testId": f.test_id,
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
