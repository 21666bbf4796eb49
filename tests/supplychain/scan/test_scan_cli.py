"""``aisec scan``: exit codes, the JSON schema other tools rely on, and SARIF 2.1.0 validity."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import jsonschema
import pytest
import torch
from safetensors.torch import save as st_save
from typer.testing import CliRunner

from aisec.cli.main import app
from aisec.records import Finding, Severity
from aisec.report.sarif import findings_to_sarif

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

#: The documented shape of ``aisec scan --format json`` (docs/scanner.md).
SCAN_JSON_SCHEMA = {
    "type": "object",
    "required": ["files", "summary"],
    "properties": {
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "format", "findings"],
                "properties": {
                    "path": {"type": "string"},
                    "format": {"type": "string"},
                    "size": {"type": "integer"},
                    "findings": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["severity", "rule", "message", "location"],
                            "additionalProperties": False,
                            "properties": {
                                "severity": {"enum": ["info", "low", "medium", "high", "critical"]},
                                "rule": {"type": "string", "pattern": "^SCN-[0-9]{3}$"},
                                "message": {"type": "string"},
                                "location": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
        "summary": {
            "type": "object",
            "required": ["files", "findings", "max_severity", "by_severity"],
        },
    },
}


class _Evil:
    def __reduce__(self):
        import os

        return os.system, ("true",)


@pytest.fixture()
def models(tmp_path: Path) -> Path:
    (tmp_path / "clean.safetensors").write_bytes(st_save({"w": torch.zeros(2, 2)}))
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(_Evil()))
    (tmp_path / "odd.safetensors").write_bytes(st_save({"w": torch.zeros(2)}) + b"\x00" * 8)
    return tmp_path


def _run(*args: str):
    return CliRunner().invoke(app, ["scan", *args])


def test_exit_codes(models: Path):
    assert _run(str(models / "clean.safetensors")).exit_code == 0
    assert _run(str(models)).exit_code == 1
    assert _run(str(models / "odd.safetensors")).exit_code == 0
    assert _run(str(models / "odd.safetensors"), "--fail-on", "low").exit_code == 1
    assert _run(str(models / "evil.pkl"), "--fail-on", "critical").exit_code == 1
    missing = _run(str(models / "nope.pt"))
    assert missing.exit_code == 2
    assert missing.stderr.count("\n") == 1 and "path not found" in missing.stderr
    assert _run(str(models), "--fail-on", "severe").exit_code == 2
    assert _run(str(models), "--format", "xml").exit_code == 2


def test_a_folder_without_files_is_a_usage_error(tmp_path: Path):
    (tmp_path / "EMPTY_DIR").mkdir()
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "one" / "deeper").mkdir(parents=True)
    (tmp_path / "one" / "deeper" / "zero.bin").write_bytes(b"")
    for folder in ("EMPTY_DIR", "nested"):
        result = _run(str(tmp_path / folder))
        assert result.exit_code == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("aisec: error: ")
        assert f"{folder} holds no files to scan" in lines[0]
        assert "Traceback" not in result.stderr
    both = _run(str(tmp_path / "EMPTY_DIR"), str(tmp_path / "nested"))
    assert both.exit_code == 2 and "hold no files to scan" in both.stderr
    # a zero-byte file is still a file: it is scanned, not refused
    assert _run(str(tmp_path / "one")).exit_code in (0, 1)


def test_json_output_follows_the_schema(models: Path):
    result = _run(str(models), "--format", "json")
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, SCAN_JSON_SCHEMA)
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    assert by_name["evil.pkl"]["findings"][0]["rule"] == "SCN-001"
    assert by_name["evil.pkl"]["findings"][0]["severity"] == "critical"
    assert by_name["clean.safetensors"]["findings"] == []
    assert doc["summary"]["max_severity"] == "critical"


def test_output_file_and_table(models: Path, tmp_path: Path):
    out = tmp_path / "report.json"
    result = _run(str(models / "evil.pkl"), "--format", "json", "--output", str(out))
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(out.read_text())["summary"]["findings"] == 1
    table = tmp_path / "table.txt"
    _run(str(models), "--output", str(table))
    assert "SCN-001" in table.read_text() and "clean" in table.read_text()


def _sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_output_validates_against_the_official_schema(models: Path):
    result = _run(str(models), "--format", "sarif")
    log = json.loads(result.stdout)
    errors = list(_sarif_validator().iter_errors(log))
    assert errors == [], [e.message for e in errors[:3]]
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert "SCN-001" in rule_ids
    for res in run["results"]:
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")


def test_findings_to_sarif_handles_other_families_and_odd_paths():
    findings = [
        Finding(
            id="EVA-001:x",
            rule="EVA-001",
            title="Model is not robust",
            severity=Severity.HIGH,
            target="digits cnn",
            threats=("evasion-digital",),
        ),
        Finding(
            id="SCN-010:y",
            rule="SCN-010",
            title="malformed",
            severity=Severity.MEDIUM,
            target="/abs/path with space/m.pkl",
            location="offset 12",
        ),
    ]
    log = findings_to_sarif(findings, tool_name="aisec-assess")
    assert list(_sarif_validator().iter_errors(log)) == []
    res = log["runs"][0]["results"]
    physical = res[1]["locations"][0]["physicalLocation"]
    assert physical["region"] == {"byteOffset": 12}
    assert physical["artifactLocation"]["uri"] == "file:///abs/path%20with%20space/m.pkl"
    # A target without a known file is a logical location, not a made-up file.
    assert res[0]["locations"] == [
        {
            "logicalLocations": [
                {"name": "digits cnn", "fullyQualifiedName": "digits cnn", "kind": "module"}
            ]
        }
    ]
    assert log["runs"][0]["tool"]["driver"]["name"] == "aisec-assess"
