"""The risk register and the Art. 15 evidence react to real measured evidence."""

from __future__ import annotations

import json

import pytest

from aisec.attacks.evasion import PGD
from aisec.data.dataset import Dataset
from aisec.records import Finding, Result, Severity
from aisec.targets.base import Target
from aisec.threat import ai_act_evidence, build_risk_register, derive_threats
from aisec.threat.register import result_ref


def _run(target: Target, data: Dataset, eps: float) -> tuple[Result, list[Finding]]:
    attack = PGD(eps=eps, norm="linf", steps=10)
    result = attack.run(target, data, seed=0)
    return result, attack.findings(result)


@pytest.fixture(scope="module")
def strong_attack(digits_cnn, digits_small) -> tuple[Result, list[Finding]]:
    """PGD at eps 0.1 on the digits CNN: breaks many points."""
    return _run(digits_cnn, digits_small, 0.1)


@pytest.fixture(scope="module")
def weak_attack(digits_cnn, digits_small) -> tuple[Result, list[Finding]]:
    """PGD at eps 0.002 (an eighth of one grey level): breaks almost nothing."""
    return _run(digits_cnn, digits_small, 0.002)


def test_a_failing_evasion_test_raises_residual_risk(offline, strong_attack) -> None:
    result, findings = strong_attack
    assert findings and findings[0].severity >= Severity.MEDIUM  # the evidence really is bad
    tm = derive_threats(offline)
    inherent = tm.get("evasion-digital")
    entry = build_risk_register(tm, [result], findings).get("evasion-digital")
    assert entry.status == "tested-failed"
    assert entry.residual_likelihood > inherent.likelihood
    assert entry.residual_risk > inherent.risk
    assert entry.evidence[0]["id"] == findings[0].id
    metrics = next(e for e in entry.evidence if e["kind"] == "result")["metrics"]
    assert metrics["robust_accuracy"] < metrics["clean_accuracy"]


def test_a_passing_evasion_test_lowers_residual_risk(offline, weak_attack) -> None:
    result, findings = weak_attack
    assert all(f.severity < Severity.MEDIUM for f in findings)
    tm = derive_threats(offline)
    entry = build_risk_register(tm, [result], findings).get("evasion-digital")
    assert entry.status == "tested-passed"
    assert entry.residual_risk < tm.get("evasion-digital").risk
    assert (
        entry.evidence and entry.evidence[-1]["id"] == f"evasion.pgd@digits-cnn#{result.unit[:8]}"
    )


def test_untested_threats_are_gaps_and_never_dropped(offline, strong_attack) -> None:
    tm = derive_threats(offline)
    register = build_risk_register(tm, *([strong_attack[0]], strong_attack[1]))
    assert {e.threat.id for e in register.entries} == {t.id for t in tm.applicable}
    gaps = {e.threat.id for e in register.gaps}
    assert "evasion-digital" not in gaps and "natural-corruption" in gaps
    for e in register.gaps:
        assert e.residual_risk == e.threat.risk and "untested" in e.basis
    skipped = Result.skipped("evasion.pgd", "digits-cnn", "target lacks gradients")
    only_skipped = build_risk_register(tm, [skipped], []).get("evasion-digital")
    assert only_skipped.status == "gap" and only_skipped.not_run[0]["status"] == "skipped"


def test_register_ranks_recommendations_and_serialises(offline, strong_attack) -> None:
    tm = derive_threats(offline)
    register = build_risk_register(tm, [strong_attack[0]], strong_attack[1])
    data = json.loads(json.dumps(register.to_dict()))
    assert data["summary"]["tested_failed"] == 1
    assert data["summary"]["gaps"] == len(data["gaps"]) == len(register.entries) - 1
    risks = [r["risk_addressed"] for r in data["recommendations"]]
    assert risks == sorted(risks, reverse=True) and data["recommendations"][0]["rank"] == 1
    top = data["recommendations"][0]
    residual_of = {e["id"]: e["residual"]["risk"] for e in data["entries"]}
    assert top["risk_addressed"] == sum(residual_of[t] for t in top["threats"])
    assert sum(len(cell) for row in data["heatmap"] for cell in row) == len(register.entries)
    residual = [e["residual"]["risk"] for e in data["entries"]]
    assert residual == sorted(residual, reverse=True)


def test_ai_act_clauses_follow_the_evidence(make_profile, strong_attack, weak_attack) -> None:
    tm = derive_threats(make_profile(accuracy_target=0.9))
    failed = ai_act_evidence(tm, [strong_attack[0]], strong_attack[1])
    clause = failed.get("15(5)-adversarial-examples")
    assert clause.status == "tested-failed" and strong_attack[1][0].id in clause.findings
    assert failed.get("15(1)").status == "tested-failed"
    assert failed.get("15(3)").status == "tested-passed"  # the CNN's clean accuracy is above 90 %
    passed = ai_act_evidence(tm, [weak_attack[0]], weak_attack[1])
    assert passed.get("15(5)-adversarial-examples").status == "tested-passed"
    assert result_ref(weak_attack[0]) in passed.get("15(5)-adversarial-examples").tests
    none = ai_act_evidence(tm)
    assert {c.status for c in none.clauses} == {"not-tested"}
    strict = derive_threats(make_profile(accuracy_target=0.999))
    assert (
        ai_act_evidence(strict, [weak_attack[0]], weak_attack[1]).get("15(3)").status
        == "tested-failed"
    )
    undeclared = ai_act_evidence(derive_threats(make_profile()), [weak_attack[0]], weak_attack[1])
    assert (
        undeclared.get("15(3)").status == "not-tested"
        and "accuracy_target" in undeclared.get("15(3)").note
    )
    data = json.loads(json.dumps(failed.to_dict()))
    assert [c["id"] for c in data["clauses"]][:2] == ["15(1)", "15(3)"]
    assert {c["status"] for c in data["clauses"]} <= {
        "tested-passed",
        "tested-failed",
        "not-tested",
    }


def test_low_findings_without_a_completed_run_prove_nothing(offline) -> None:
    tm = derive_threats(offline)
    failed = Result.error("evasion.pgd", "digits-cnn", "ImportError: something is missing")
    note = Finding(
        id="RUN-001:digits-cnn:evasion.pgd",
        rule="RUN-001",
        title="evasion.pgd could not run",
        severity=Severity.LOW,
        target="digits-cnn",
        test_id="evasion.pgd",
    )
    entry = build_risk_register(tm, [failed], [note]).get("evasion-digital")
    assert entry.status == "gap" and entry.residual_risk == tm.get("evasion-digital").risk
    assert entry.not_run[0]["status"] == "error" and entry.evidence[0]["id"] == note.id


HUB_TEXT_CLASSIFIER = {
    "name": "hub-text-classifier",
    "description": "Classifies support tickets with a model downloaded from a hub.",
    "technology": "deep-learning",
    "task": "classification",
    "modality": "text",
    "provenance": "third-party-pretrained",
    "exposure": ["public-api"],
    "outputs": ["scores"],
    "model_formats": ["safetensors"],
}
DIGITS_TARGET = {"name": "digits-cnn", "builtin": "digits-cnn", "data": "builtin:digits:test"}


def test_stand_in_evidence_never_lowers_the_systems_risk(make_profile, weak_attack) -> None:
    result, findings = weak_attack
    tm = derive_threats(make_profile(HUB_TEXT_CLASSIFIER))
    inherent = tm.get("evasion-digital")
    register = build_risk_register(tm, [result], findings, [DIGITS_TARGET])
    entry = register.get("evasion-digital")
    assert entry.status == "stand-in-only"
    assert entry.residual_risk == inherent.risk and "stand-in" in entry.basis
    assert entry.evidence and all(e["stand_in"] for e in entry.evidence)
    assert (
        "digits-cnn" in register.stand_ins["digits-cnn"]
        and "text" in register.stand_ins["digits-cnn"]
    )
    assert "evasion-digital" in [e.threat.id for e in register.gaps]
    # Declared equivalent by the user: the same result now counts as evidence on the system.
    declared = build_risk_register(tm, [result], findings, [{**DIGITS_TARGET, "stand_in": False}])
    assert declared.get("evasion-digital").status == "tested-passed"
    assert declared.get("evasion-digital").residual_risk < inherent.risk


def test_a_marked_stand_in_of_the_same_modality_is_still_a_stand_in(offline, weak_attack) -> None:
    result, findings = weak_attack
    tm = derive_threats(offline)
    own = build_risk_register(tm, [result], findings, [DIGITS_TARGET])
    assert own.stand_ins == {} and own.get("evasion-digital").status == "tested-passed"
    marked = build_risk_register(tm, [result], findings, [{**DIGITS_TARGET, "stand_in": True}])
    entry = marked.get("evasion-digital")
    assert entry.status == "stand-in-only" and entry.residual_risk == tm.get("evasion-digital").risk


def test_stand_in_failures_do_not_fail_art_15_and_reports_name_the_target(
    make_profile, strong_attack
) -> None:
    from aisec.report.threat_markdown import threat_markdown_sections

    result, findings = strong_attack
    tm = derive_threats(make_profile(HUB_TEXT_CLASSIFIER))
    register = build_risk_register(tm, [result], findings, [DIGITS_TARGET])
    assert register.get("evasion-digital").status == "stand-in-only"
    ai = ai_act_evidence(tm, [result], findings, register)
    clause = ai.get("15(5)-adversarial-examples")
    assert clause.status == "not-tested" and not clause.findings and not clause.tests
    md = threat_markdown_sections(tm, register, ai)
    assert f"{result_ref(result)} (stand-in)" in md
    assert "Stand-in targets" in md and "built-in image model standing in" in md
    assert json.loads(json.dumps(register.to_dict()))["summary"]["stand_in_only"] >= 1
