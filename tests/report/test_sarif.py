"""SARIF output: one documented description per rule, locations at real files, and fingerprints
that are the same on every machine and from every folder.

Findings come from real components: the scanner on a hostile pickle written as bytes (never
unpickled), the assessment's scan and manifest tests, and real attacks on the built-in digits CNN
and on a TorchScript copy of it saved to disk.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import torch
from sarif.loader import load_sarif_file

from aisec.attacks.evasion import PGD, DeepFool
from aisec.attacks.evasion.base import EVA_001
from aisec.attacks.evasion.corruptions import COR_001
from aisec.attacks.evasion.patch import PHY_001
from aisec.attacks.evasion.sanity import SANITY_RULES
from aisec.findings import RULE_DOCS
from aisec.records import Finding, Severity
from aisec.registry import available_tests
from aisec.report.model import ReportData
from aisec.report.sarif import (
    FINGERPRINT,
    SRCROOT,
    findings_to_sarif,
    report_to_sarif,
    target_sources,
)
from aisec.report.writer import write_reports
from aisec.supplychain.manifest import MANIFEST_NAME, create_manifest
from aisec.supplychain.scan import RULES, scan_paths
from aisec.supplychain.test import MANIFEST_RULES, ManifestCheck, SupplyChainScan
from aisec.targets.torch import TorchClassifier

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "supplychain" / "scan" / "data" / "sarif-schema-2.1.0.json"

# ``os.system("true")`` by hand: PROTO 2, GLOBAL "os system", the argument, TUPLE1, REDUCE, STOP.
# Written to disk for the scanner only; nothing here ever unpickles it.
HOSTILE_PICKLE = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."
#: The documented SARIF level of each severity (docs/reports.md).
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}


def _valid(log: dict[str, Any]) -> dict[str, Any]:
    """``log``, after checking it against the official SARIF 2.1.0 schema."""
    validator = jsonschema.Draft4Validator(
        json.loads(SCHEMA.read_text("utf-8")), format_checker=jsonschema.FormatChecker()
    )
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == [], errors[:3]
    return log


def _run(log: dict[str, Any]) -> dict[str, Any]:
    return log["runs"][0]


def _uri(result: dict[str, Any]) -> dict[str, str]:
    return result["locations"][0]["physicalLocation"]["artifactLocation"]


@pytest.fixture(scope="module")
def points(digits_small):
    """A few digits, enough for an attack to give a finding."""
    return digits_small.subset(24, seed=0)


@pytest.fixture(scope="module")
def attack_findings(digits_cnn, points) -> tuple[list[Finding], list[Finding]]:
    """EVA-001 findings of DeepFool and of PGD, run for real on the built-in CNN."""
    out = []
    for attack in (DeepFool(eps=1.0, steps=10), PGD(eps=0.1, steps=5)):
        result = attack.run(digits_cnn, points, seed=0)
        assert result.ok, result.message
        out.append(attack.findings(result))
    deepfool, pgd = out
    assert [f.rule for f in deepfool] == ["EVA-001"] and [f.rule for f in pgd] == ["EVA-001"]
    return deepfool, pgd


def _save_torchscript(model: torch.nn.Module, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(model), str(path))
    return path


# -- rules ------------------------------------------------------------------------------------
def test_one_fixed_description_per_rule_whatever_the_findings(attack_findings) -> None:
    deepfool, pgd = attack_findings
    assert deepfool[0].title.startswith("DeepFool") and pgd[0].title.startswith("PGD")
    log = _valid(findings_to_sarif([*deepfool, *pgd]))
    (rule,) = _run(log)["tool"]["driver"]["rules"]
    assert rule["id"] == "EVA-001"
    doc = RULE_DOCS["EVA-001"]
    assert rule["name"] == doc.name == "AccuracyDropUnderAttack"
    assert rule["shortDescription"]["text"] == doc.summary
    assert rule["fullDescription"]["text"] == doc.description
    assert doc.docs in rule["help"]["text"]
    text = json.dumps(rule)
    for f in (*deepfool, *pgd):
        assert f.title not in text
    assert "DeepFool" not in text and "PGD" not in text
    assert [r["ruleIndex"] for r in _run(log)["results"]] == [0, 0]
    # The order of the findings does not change the rule.
    swapped = _valid(findings_to_sarif([*pgd, *deepfool]))
    assert _run(swapped)["tool"]["driver"]["rules"] == [rule]
    worst = max((f.severity for f in (*deepfool, *pgd)), key=lambda s: s.rank)
    assert rule["defaultConfiguration"]["level"] == LEVELS[worst.value]


def test_scanner_rules_and_unknown_rules_have_fixed_descriptions(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("evil.pkl").write_bytes(HOSTILE_PICKLE)
    found = scan_paths(["evil.pkl"]).findings
    assert [f.rule for f in found] == ["SCN-001"]
    odd = Finding(
        id="XYZ-009:m:t:k", rule="XYZ-009", title="a title", severity=Severity.LOW, target="m"
    )
    rules = _run(_valid(findings_to_sarif([*found, odd])))["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["SCN-001", "XYZ-009"]
    assert rules[0]["shortDescription"]["text"] == RULES["SCN-001"].title
    assert rules[0]["name"] == "PickleImportsADangerousCallable"
    assert RULES["SCN-001"].recommendation in rules[0]["help"]["text"]
    assert found[0].title not in json.dumps(rules[0])
    assert rules[0]["properties"]["security-severity"] == "9.5"
    assert "a title" not in json.dumps(rules[1])
    assert rules[1]["shortDescription"]["text"] == "Finding of rule XYZ-009"


def _slugs(doc: Path) -> set[str]:
    """GitHub's anchors of the headings of ``doc``."""
    heads = [ln.lstrip("#").strip() for ln in doc.read_text("utf-8").splitlines() if ln[:1] == "#"]
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}


def test_every_rule_is_described_and_points_at_its_documentation() -> None:
    listed = {r.rule for r in (EVA_001, PHY_001, COR_001, *SANITY_RULES, *MANIFEST_RULES)}
    registered = {
        r.rule for t in available_tests().values() for r in t.rules if isinstance(r.rule, str)
    }
    assert listed <= registered
    assert registered | {"RUN-001"} == set(RULE_DOCS)
    documented = re.findall(r"^### ([A-Z]{3}-\d{3})", (ROOT / "docs/findings.md").read_text(), re.M)
    assert set(documented) == set(RULE_DOCS)
    anchors = _slugs(ROOT / "docs" / "findings.md")
    for doc in [*RULE_DOCS.values(), *RULES.values()]:
        path, anchor = doc.docs.split("#")
        assert path == "docs/findings.md" and anchor in anchors, doc.id
    for doc in RULE_DOCS.values():
        assert doc.name.isalnum() and doc.summary and doc.description


# -- locations --------------------------------------------------------------------------------
def test_scanner_results_point_at_the_scanned_file(tmp_path, monkeypatch) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "evil model.pkl").write_bytes(HOSTILE_PICKLE)
    monkeypatch.chdir(tmp_path)
    for given in (models / "evil model.pkl", Path("models/evil model.pkl")):
        (result,) = _run(_valid(findings_to_sarif(scan_paths([given]).findings)))["results"]
        assert _uri(result) == {"uri": "models/evil%20model.pkl", "uriBaseId": SRCROOT}
        assert result["locations"][0]["physicalLocation"]["region"] == {"byteOffset": 2}
    # A file outside the working directory keeps its absolute location.
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (result,) = _run(_valid(findings_to_sarif(scan_paths([models]).findings)))["results"]
    assert _uri(result) == {"uri": (models / "evil model.pkl").as_uri()}


def test_assessment_results_point_at_the_model_file(digits_cnn, points, tmp_path, monkeypatch):
    model = _save_torchscript(digits_cnn.model, tmp_path / "models" / "cnn.pt")
    target = TorchClassifier.from_torchscript(model, input_shape=(1, 8, 8), name="cnn")
    assert target.describe()["source"] == str(model)
    pgd = PGD(eps=0.1, steps=5)
    findings = pgd.findings(pgd.run(target, points, seed=0))
    evil = tmp_path / "models" / "evil.pkl"
    evil.write_bytes(HOSTILE_PICKLE)
    scan = SupplyChainScan(paths=[str(evil)])
    scanned = scan.findings(scan.run(target, None, seed=0))
    assert [f.rule for f in findings] == ["EVA-001"] and [f.rule for f in scanned] == ["SCN-001"]
    monkeypatch.chdir(tmp_path)
    sources = target_sources([target.describe()])
    results = _run(_valid(findings_to_sarif([*findings, *scanned], sources=sources)))["results"]
    assert _uri(results[0]) == {"uri": "models/cnn.pt", "uriBaseId": SRCROOT}
    assert "logicalLocations" not in results[0]["locations"][0]
    assert results[0]["properties"]["target"] == "cnn"
    # The scanner's finding is at the scanned file, its byte offset inside it.
    assert _uri(results[1]) == {"uri": "models/evil.pkl", "uriBaseId": SRCROOT}
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {"byteOffset": 2}
    assert results[1]["locations"][0]["logicalLocations"] == [
        {"fullyQualifiedName": "offset 2", "kind": "member"}
    ]


def test_manifest_results_point_at_the_changed_file(digits_cnn, tmp_path, monkeypatch) -> None:
    release = tmp_path / "release"
    release.mkdir()
    (release / "weights.bin").write_bytes(b"\x00" * 16)
    create_manifest(release).save(release / MANIFEST_NAME)
    (release / "weights.bin").write_bytes(b"\x01" * 16)
    check = ManifestCheck(manifest=str(release / MANIFEST_NAME))
    findings = check.findings(check.run(digits_cnn, None, seed=0))
    assert [f.rule for f in findings] == ["MAN-001"]
    monkeypatch.chdir(tmp_path)
    (result,) = _run(_valid(findings_to_sarif(findings)))["results"]
    assert _uri(result) == {"uri": "release/weights.bin", "uriBaseId": SRCROOT}


def test_a_builtin_target_gets_a_logical_location(attack_findings, target_info) -> None:
    _, pgd = attack_findings
    sources = target_sources(target_info)
    assert sources == {"digits-cnn": "builtin:digits-cnn"}
    (result,) = _run(_valid(findings_to_sarif(pgd, sources=sources)))["results"]
    assert result["locations"] == [
        {
            "logicalLocations": [
                {"name": "digits-cnn", "fullyQualifiedName": "builtin:digits-cnn", "kind": "module"}
            ]
        }
    ]


# -- fingerprints -----------------------------------------------------------------------------
def _assessment_log(folder: Path, model: Path, points, monkeypatch) -> dict[str, Any]:
    """SARIF of a PGD run and a scan, on copies of ``model`` and the pickle inside ``folder``."""
    models = folder / "models"
    models.mkdir(parents=True)
    shutil.copy(model, models / "cnn.pt")
    (models / "evil.pkl").write_bytes(HOSTILE_PICKLE)
    monkeypatch.chdir(folder)
    # Paths as an assessment config resolves them: absolute.
    target = TorchClassifier.from_torchscript(
        (models / "cnn.pt").resolve(), input_shape=(1, 8, 8), name="cnn"
    )
    pgd = PGD(eps=0.1, steps=5)
    scan = SupplyChainScan(paths=[str((models / "evil.pkl").resolve())])
    results = [pgd.run(target, points, seed=0), scan.run(target, None, seed=0)]
    findings = [*pgd.findings(results[0]), *scan.findings(results[1])]
    cli = scan_paths([(models / "evil.pkl").resolve()]).findings
    assert any(str(folder) in f.location for f in [*findings, *cli])  # locations are absolute
    assert not any(str(folder) in f.id for f in [*findings, *cli])  # ids are not
    data = ReportData(
        run_id="run-1",
        name="two folders",
        created="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00",
        aisec_version="0.1.0",
        config={},
        targets=[target.describe()],
        results=results,
        findings=[*findings, *cli],
        units_total=2,
        units_done=2,
    )
    return _valid(report_to_sarif(data))


def test_fingerprints_are_the_same_from_two_folders(digits_cnn, points, tmp_path, monkeypatch):
    model = _save_torchscript(digits_cnn.model, tmp_path / "original" / "cnn.pt")
    first = _assessment_log(tmp_path / "a", model, points, monkeypatch)
    second = _assessment_log(tmp_path / "b", model, points, monkeypatch)
    results = _run(first)["results"]
    assert [r["ruleId"] for r in results] == ["EVA-001", "SCN-001", "SCN-001"]
    assert _run(first) == _run(second)  # locations, fingerprints, ids: all of it
    assert str(tmp_path) not in json.dumps(first)
    prints = [r["partialFingerprints"][FINGERPRINT] for r in results]
    assert len(set(prints)) == len(prints)
    assert len({r["correlationGuid"] for r in results}) == len(results)
    assert results[1]["properties"]["findingId"] == (
        "SCN-001:cnn:supplychain.scan:models/evil.pkl:offset 2:0"
    )
    assert results[2]["properties"]["findingId"] == "SCN-001:models/evil.pkl:offset 2:0"


def test_files_outside_the_folder_are_fingerprinted_by_name(tmp_path, monkeypatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    logs = []
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "evil.pkl").write_bytes(HOSTILE_PICKLE)
        logs.append(_valid(findings_to_sarif(scan_paths([tmp_path / sub / "evil.pkl"]).findings)))
    (a,), (b,) = (_run(log)["results"] for log in logs)
    assert _uri(a)["uri"] != _uri(b)["uri"]
    assert a["partialFingerprints"] == b["partialFingerprints"]
    assert a["correlationGuid"] == b["correlationGuid"]
    assert a["properties"]["findingId"] == "SCN-001:evil.pkl:offset 2:0"


def test_the_same_finding_twice_keeps_distinct_fingerprints(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("evil.pkl").write_bytes(HOSTILE_PICKLE)
    found = scan_paths(["evil.pkl"]).findings
    results = _run(_valid(findings_to_sarif([*found, *found])))["results"]
    assert len({r["partialFingerprints"][FINGERPRINT] for r in results}) == 2


# -- read back by a SARIF library -------------------------------------------------------------
def test_sarif_tools_reads_the_report(report_data, attack_findings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("evil.pkl").write_bytes(HOSTILE_PICKLE)
    scanned = scan_paths(["evil.pkl"]).findings
    deepfool, pgd = attack_findings
    findings = [*deepfool, *pgd, *scanned]
    data = dataclasses.replace(report_data, findings=findings)
    path = write_reports(data, tmp_path / "out", formats=("sarif",))["sarif"]
    _valid(json.loads(path.read_text("utf-8")))
    log = load_sarif_file(str(path))
    assert log.get_result_count() == len(findings) == 3
    (run,) = log.runs
    assert run.get_tool_name() == "aisec"
    (eva,) = run.get_rules_by_id("EVA-001")
    assert eva["shortDescription"]["text"] == RULE_DOCS["EVA-001"].summary
    (scn,) = run.get_rules_by_id("SCN-001")
    assert scn["shortDescription"]["text"] == RULES["SCN-001"].title
    records = run.get_records()
    assert [r["Code"] for r in records] == ["EVA-001", "EVA-001", "SCN-001"]
    assert [r["Location"] for r in records] == ["builtin:digits-cnn"] * 2 + ["evil.pkl"]
    assert [r["Severity"] for r in records] == [LEVELS[f.severity.value] for f in findings]
    assert [r["Description"] for r in records] == [f.title for f in findings]
