"""The scanner's rules (``SCN-xxx``): one severity, threat and advice per rule.

Every analyser reports through :class:`Collector`, so a finding always carries a documented rule
(see docs/findings.md and docs/scanner.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aisec.portable import portable_path
from aisec.records import Finding, Severity

TEST_ID = "supplychain.scan"
_SERIAL = "unsafe-model-serialization"
_SUPPLY = "model-poisoning-supply-chain"
_DATA = "dataset-tampering"
_DOS = "denial-of-service"


#: The docs/findings.md section on the scanner, and the one of each group of rules (by the id's
#: first two digits).
_SCANNER_SECTION = "model-file-scanner-supplychainscan-aisec-scan"
_SECTIONS = {
    "SCN-00": "pickle-content",
    "SCN-01": "pickle-content",
    "SCN-02": "archives-and-compressed-streams",
    **{f"SCN-0{d}": "keras-onnx-safetensors-gguf-numpy" for d in range(3, 8)},
    "SCN-09": "whole-files",
}


@dataclass(frozen=True)
class Rule:
    """A documented scanner rule."""

    id: str
    """Stable id, e.g. ``SCN-001``."""
    title: str
    """What the rule detects."""
    severity: Severity
    """Default severity of its findings."""
    threats: tuple[str, ...]
    """Catalogue threat ids the finding evidences."""
    recommendation: str
    """What to do about a finding."""

    @property
    def docs(self) -> str:
        """The section of docs/findings.md documenting the rule (one per group of rules)."""
        return f"docs/findings.md#{_SECTIONS.get(self.id[:6], _SCANNER_SECTION)}"


_RULES = [
    Rule(
        "SCN-001",
        "Pickle imports a dangerous callable",
        Severity.CRITICAL,
        (_SERIAL,),
        "Do not load this file; it runs code when unpickled. Obtain weights as safetensors.",
    ),
    Rule(
        "SCN-002",
        "Pickle imports a callable that is not on the allowlist",
        Severity.HIGH,
        (_SERIAL,),
        "Review the callable before loading; prefer safetensors or torch.load(weights_only=True).",
    ),
    Rule(
        "SCN-003",
        "Pickle instantiates a class of a known ML library not on the allowlist",
        Severity.LOW,
        (_SERIAL,),
        "Load only from a trusted source; the class's __setstate__ runs on load.",
    ),
    Rule(
        "SCN-004",
        "Pickle import cannot be resolved statically",
        Severity.HIGH,
        (_SERIAL,),
        "Treat as hostile: the imported name is computed at load time.",
    ),
    Rule(
        "SCN-005",
        "Pickle contains a nested pickle passed to a deserializer",
        Severity.HIGH,
        (_SERIAL,),
        "Treat as hostile: nested deserialization hides payloads from scanners.",
    ),
    Rule(
        "SCN-006",
        "Pickle data holds another pickle, as raw bytes, hex or base64",
        Severity.MEDIUM,
        (_SERIAL,),
        "Inspect the inner pickle's findings: code that decodes and loads it is one line away.",
    ),
    Rule(
        "SCN-010",
        "Malformed pickle stream",
        Severity.HIGH,
        (_SERIAL,),
        "Do not load: loaders and scanners may disagree on what a malformed stream does.",
    ),
    Rule(
        "SCN-011",
        "Several pickles in one file",
        Severity.MEDIUM,
        (_SERIAL,),
        "Check why the file holds more than one pickle; loaders read only the first.",
    ),
    Rule(
        "SCN-012",
        "Data after the pickle STOP opcode",
        Severity.MEDIUM,
        (_SERIAL,),
        "Strip trailing data or re-save the model from a trusted source.",
    ),
    Rule(
        "SCN-013",
        "Analysis limit reached; the file was not fully analysed",
        Severity.HIGH,
        (_SERIAL, _DOS),
        "Inspect the file by hand or raise the scan limits.",
    ),
    Rule(
        "SCN-015",
        "Pickle expands to far more objects than its size (memo or DUP references repeated)",
        Severity.HIGH,
        (_DOS,),
        "Do not load into a process that walks, prints or copies the result: it exhausts memory "
        "and time (a billion-laughs pickle).",
    ),
    Rule(
        "SCN-014",
        "Pickle frames are inconsistent: data runs past a FRAME, or frames overlap",
        Severity.HIGH,
        (_SERIAL,),
        "Do not load: unpicklers read such streams differently, which hides payloads.",
    ),
    Rule(
        "SCN-020",
        "Archive member path escapes the extraction folder",
        Severity.HIGH,
        (_SUPPLY,),
        "Do not extract; the member would be written outside the target folder.",
    ),
    Rule(
        "SCN-021",
        "Archive member is a link or special file",
        Severity.HIGH,
        (_SUPPLY,),
        "Do not extract; links can redirect writes or reads outside the folder.",
    ),
    Rule(
        "SCN-022",
        "Compression bomb or member larger than the decompression limit",
        Severity.HIGH,
        (_DOS,),
        "Do not extract; the content inflates beyond safe bounds.",
    ),
    Rule(
        "SCN-023",
        "Archive has too many members",
        Severity.MEDIUM,
        (_DOS,),
        "Check the archive's origin; only the first members were analysed.",
    ),
    Rule(
        "SCN-024",
        "Archives nested deeper than the limit",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Unpack by hand and scan the inner files.",
    ),
    Rule(
        "SCN-025",
        "Corrupt or unreadable archive",
        Severity.HIGH,
        (_SUPPLY,),
        "Obtain an intact copy; corrupt archives are read differently by different tools.",
    ),
    Rule(
        "SCN-026",
        "Archive has duplicate member names",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Tools disagree on which duplicate wins; re-create the archive.",
    ),
    Rule(
        "SCN-027",
        "Archive member is encrypted, so its content cannot be inspected",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Ask for an unencrypted copy, or decrypt it yourself and scan the content; model "
        "loaders cannot read encrypted members either, so something else must decrypt them.",
    ),
    Rule(
        "SCN-028",
        "7z archive not inspected (the archives extra is not installed)",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Install aisec[archives] and scan again, or unpack it with a trusted tool and scan the "
        "files inside; 7z-packed models have been used to slip past scanners (nullifAI).",
    ),
    Rule(
        "SCN-030",
        "Keras Lambda layer with serialized code",
        Severity.HIGH,
        (_SERIAL,),
        "Load with safe_mode=True or rebuild the layer in code; the Lambda runs on load.",
    ),
    Rule(
        "SCN-031",
        "Keras custom object from a module outside Keras",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Review the named module; loading imports it.",
    ),
    Rule(
        "SCN-032",
        "Keras configuration cannot be parsed",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Obtain an intact copy of the model.",
    ),
    Rule(
        "SCN-040",
        "ONNX external data path escapes the model folder",
        Severity.HIGH,
        (_SUPPLY,),
        "Do not load; the runtime would read files outside the model folder.",
    ),
    Rule(
        "SCN-041",
        "ONNX model uses a custom operator domain",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Custom operators run native code from a separate library; review it.",
    ),
    Rule(
        "SCN-042",
        "ONNX metadata is unusually large or suspicious",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Inspect the metadata; it may smuggle data or code.",
    ),
    Rule(
        "SCN-043",
        "Malformed ONNX protobuf",
        Severity.HIGH,
        (_SUPPLY,),
        "Obtain an intact copy of the model.",
    ),
    Rule(
        "SCN-050",
        "Invalid safetensors header",
        Severity.HIGH,
        (_SUPPLY, _DOS),
        "Do not load; the header is inconsistent with the tensor data.",
    ),
    Rule(
        "SCN-051",
        "safetensors data section has unused bytes",
        Severity.LOW,
        (_SUPPLY,),
        "Re-save with safetensors; hidden bytes can carry data.",
    ),
    Rule(
        "SCN-060",
        "Malformed GGUF header or metadata",
        Severity.HIGH,
        (_SUPPLY, _DOS),
        "Obtain an intact copy of the model.",
    ),
    Rule(
        "SCN-061",
        "GGUF chat template reaches Python object internals",
        Severity.CRITICAL,
        (_SERIAL,),
        "Do not render this template; it is a server-side template injection.",
    ),
    Rule(
        "SCN-062",
        "GGUF chat template cannot be parsed or uses risky filters",
        Severity.MEDIUM,
        (_SUPPLY,),
        "Review the chat template before use.",
    ),
    Rule(
        "SCN-070",
        "NumPy object array (needs allow_pickle)",
        Severity.MEDIUM,
        (_SERIAL, _DATA),
        "Store numeric arrays only; object arrays run pickle on load.",
    ),
    Rule(
        "SCN-071",
        "Malformed NumPy header",
        Severity.HIGH,
        (_DATA,),
        "Obtain an intact copy of the array file.",
    ),
    Rule(
        "SCN-075",
        "Malformed TensorFlow SavedModel protobuf",
        Severity.HIGH,
        (_SUPPLY,),
        "Obtain an intact copy; loaders and scanners may read a malformed graph differently.",
    ),
    Rule(
        "SCN-076",
        "TensorFlow SavedModel graph runs Python code (PyFunc)",
        Severity.CRITICAL,
        (_SERIAL,),
        "Do not load or serve this model: its graph calls Python functions of the process.",
    ),
    Rule(
        "SCN-077",
        "TensorFlow SavedModel graph reads or writes files",
        Severity.HIGH,
        (_SERIAL,),
        "Review the graph: a model's inference graph has no reason to read or write files.",
    ),
    Rule(
        "SCN-078",
        "skops file rebuilds a dangerous callable",
        Severity.CRITICAL,
        (_SERIAL,),
        "Do not load: trusting this type would let the file run code.",
    ),
    Rule(
        "SCN-079",
        "skops file needs a type or function that is not trusted",
        Severity.MEDIUM,
        (_SERIAL,),
        "Review each listed type before passing it to skops.io.load(trusted=...).",
    ),
    Rule(
        "SCN-090",
        "Format not recognised; not analysed",
        Severity.INFO,
        (_SUPPLY,),
        "Nothing to do unless this file is loaded as a model.",
    ),
    Rule(
        "SCN-091",
        "File could not be analysed",
        Severity.HIGH,
        (_SUPPLY,),
        "Inspect the file by hand; the scanner could not vouch for it.",
    ),
    Rule(
        "SCN-092",
        "File content does not match its extension",
        Severity.MEDIUM,
        (_SUPPLY,),
        "A file disguised as a safe format: check its origin.",
    ),
]

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


def rules_help() -> dict[str, dict[str, str]]:
    """Each rule's title, advice and default severity, by id.

    :func:`aisec.report.sarif.findings_to_sarif` describes these rules by itself; passed as its
    ``rules_help``, the titles and advice replace that description.
    """
    return {
        r.id: {"name": r.title, "help": r.recommendation, "severity": r.severity.value}
        for r in _RULES
    }


@dataclass
class Collector:
    """Gathers findings for one file; ``prefix`` is prepended to every location."""

    target: str
    prefix: str = ""
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        rule_id: str,
        message: str,
        location: str = "",
        severity: Severity | None = None,
        **evidence: Any,
    ) -> None:
        """Record a finding of ``rule_id`` (severity defaults to the rule's)."""
        rule = RULES[rule_id]
        loc = f"{self.prefix}{location}" if location else self.prefix.rstrip(":")
        self.findings.append(
            Finding(
                id=f"{rule_id}:{portable_path(self.target)}:{loc}:{len(self.findings)}",
                rule=rule_id,
                title=message,
                severity=severity or rule.severity,
                target=self.target,
                evidence=evidence,
                test_id=TEST_ID,
                threats=rule.threats,
                recommendation=rule.recommendation,
                location=loc,
            )
        )

    def child(self, location: str) -> Collector:
        """A collector sharing this list whose locations are prefixed by ``location``."""
        return Collector(self.target, f"{self.prefix}{location}:", self.findings)
