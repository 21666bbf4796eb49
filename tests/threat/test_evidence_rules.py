"""Statuses only from matching evidence: a test counts for the threats it measures, a finding
at or above the threshold fails its threat, and a clause passes only when all its threats do."""

from __future__ import annotations

import pytest

from aisec.attacks.evasion import PGD
from aisec.supplychain.test import SupplyChainScan
from aisec.threat import ai_act_evidence, build_risk_register, derive_threats, load_profile

# GLOBAL os.system, then a STOP: written as bytes, never unpickled.
HOSTILE = b"\x80\x02cos\nsystem\nq\x00."


@pytest.fixture(scope="module")
def demo_threats():
    return derive_threats(load_profile("builtin:demo"))


@pytest.fixture(scope="module")
def vendor_scan(tmp_path_factory, digits_logreg):
    path = tmp_path_factory.mktemp("vendor") / "vendor-model.pkl"
    path.write_bytes(HOSTILE)
    result = SupplyChainScan(paths=[str(path)]).run(digits_logreg)
    assert any(f.severity.value == "critical" for f in result.findings)
    return result


def test_a_critical_pickle_fails_the_supply_chain_threat(demo_threats, vendor_scan) -> None:
    register = build_risk_register(demo_threats, [vendor_scan], vendor_scan.findings)
    assert register.get("model-poisoning-supply-chain").status == "tested-failed"
    assert register.get("unsafe-model-serialization").status == "tested-failed"


def test_a_scan_of_model_files_is_no_evidence_about_training_data(
    demo_threats, vendor_scan
) -> None:
    register = build_risk_register(demo_threats, [vendor_scan], vendor_scan.findings)
    for threat in ("dataset-tampering", "data-poisoning"):
        if any(t.id == threat for t in demo_threats.applicable):
            assert register.get(threat).status == "gap", threat
    ai = ai_act_evidence(demo_threats, [vendor_scan], vendor_scan.findings)
    assert ai.get("15(5)-data-poisoning").status != "tested-passed"
    assert ai.get("15(1)").status == "tested-failed"


def test_a_clause_passes_only_when_every_threat_passed(demo_threats, digits_cnn, digits_small):
    weak = PGD(eps=0.002, steps=5).run(digits_cnn, digits_small)
    assert all(f.severity.value in ("info", "low") for f in weak.findings)
    register = build_risk_register(demo_threats, [weak], weak.findings)
    assert register.get("evasion-digital").status == "tested-passed"
    ai = ai_act_evidence(demo_threats, [weak], weak.findings)
    clause = ai.get("15(5)-adversarial-examples")
    untested = [t for t in clause.threats if register.get(t).status == "gap"]
    assert untested, "the demo profile has threats no digital attack measures"
    assert clause.status == "not-tested"
    assert "passed: evasion-digital" in clause.note and untested[0] in clause.note
    assert ai.get("15(1)").status == "not-tested"
