"""The catalogue covers every ML-specific technique of the pinned MITRE ATLAS version."""

from __future__ import annotations

import dataclasses

from aisec.taxonomy import load_catalogue
from aisec.taxonomy.coverage import atlas_coverage
from aisec.threat.paths import CONDITIONS, unknown_conditions


def test_every_ml_specific_technique_is_a_threat_a_path_or_out_of_scope() -> None:
    rows = atlas_coverage()
    catalogue = load_catalogue()
    ml_specific = {t.id for t in catalogue.techniques.values() if t.ml_specific}
    assert {r.id for r in rows} == ml_specific and len(ml_specific) == 136
    missing = [f"{r.id} {r.name}" for r in rows if not r.covered]
    assert missing == [], "neither covered nor marked out of scope: " + "; ".join(missing)


def test_the_techniques_the_issue_found_missing_are_now_covered() -> None:
    by_id = {r.id: r for r in atlas_coverage()}
    assert "data-poisoning" in by_id["AML.T0031"].threats
    assert "model-tampering" in by_id["AML.T0076"].threats + by_id["AML.T0018.001"].threats
    assert by_id["AML.T0010.001"].threats == ("ml-software-supply-chain",)
    assert "agent-memory-poisoning" in by_id["AML.T0061"].threats
    assert by_id["AML.T0088"].threats == ("biometric-spoofing",)
    assert "prompt-injection-indirect" in by_id["AML.T0093"].paths
    for access in ("AML.T0040", "AML.T0047", "AML.T0044", "AML.T0002", "AML.T0042"):
        assert by_id[access].paths, access


def test_a_technique_dropped_from_the_catalogue_is_reported() -> None:
    catalogue = load_catalogue()
    without = dataclasses.replace(
        catalogue,
        paths=tuple(p for p in catalogue.paths if p.id != "AML.T0040"),
    )
    row = next(r for r in atlas_coverage(without) if r.id == "AML.T0040")
    assert not row.covered


def test_out_of_scope_techniques_have_reasons_and_are_not_also_covered() -> None:
    catalogue = load_catalogue()
    by_id = {r.id: r for r in atlas_coverage()}
    for tid, reason in catalogue.out_of_scope.items():
        assert len(reason) > 40 and catalogue.techniques[tid].ml_specific
        assert not by_id[tid].threats and not by_id[tid].paths, tid


def test_every_path_names_a_defined_condition_and_known_threats() -> None:
    catalogue = load_catalogue()
    assert unknown_conditions() == []
    assert {p.when for p in catalogue.paths} <= CONDITIONS.keys()
    ids = set(catalogue.ids)
    for p in catalogue.paths:
        assert set(p.threats) <= ids and p.name and p.tactics
