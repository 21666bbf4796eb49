"""The shipped threat catalogue: complete entries, valid framework IDs, real aisec tests."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml

from aisec.errors import ConfigError
from aisec.registry import available_tests
from aisec.taxonomy import check_catalogue, load_catalogue
from aisec.taxonomy.atlas_extract import build_extract, referenced_atlas_ids
from aisec.taxonomy.catalogue import _frameworks

SHARED_ATLAS = Path("/work/shared/taxonomies/mitre-atlas/ATLAS.yaml")
REQUIRED_IDS = set(
    [
        "evasion-digital",
        "evasion-physical",
        "data-poisoning",
        "backdoor",
        "model-poisoning-supply-chain",
        "membership-inference",
        "attribute-inference",
        "model-inversion",
        "model-extraction",
        "prompt-injection-direct",
        "prompt-injection-indirect",
        "jailbreak-misuse",
        "sensitive-data-leakage",
        "denial-of-service",
        "unsafe-model-serialization",
        "dataset-tampering",
        "natural-corruption",
    ]
)
ID_FORMATS = {
    "nist": r"^NISTAML\.0[1-5]\d?$",
    "atlas": r"^AML\.T\d{4}(\.\d{3})?$",
    "owasp-ml": r"^ML(0[1-9]|10):2023$",
    "owasp-llm": r"^LLM(0[1-9]|10):2025$",
}
PINNED = {"nist": "E2025", "atlas": "5.6.0", "owasp-ml": "2023", "owasp-llm": "2025"}


def _raw() -> dict:
    text = (
        resources.files("aisec.taxonomy")
        .joinpath("data", "catalogue.yaml")
        .read_text(encoding="utf-8")
    )
    return yaml.safe_load(text)


def test_catalogue_has_every_threat_of_the_project() -> None:
    ids = set(load_catalogue().ids)
    assert ids >= REQUIRED_IDS


def test_every_entry_has_every_field_filled() -> None:
    for t in load_catalogue().threats:
        assert len(t.description) > 40, t.id
        assert t.lifecycle_stages and t.technology_levels and t.attack_points, t.id
        assert t.attacker.knowledge and t.attacker.capabilities and t.attacker.goal, t.id
        assert t.ai_act and t.defences and t.controls, t.id
        assert t.tests or t.planned_tests, f"{t.id} names no test, not even a planned one"
        if t.adversarial:
            assert t.refs("nist") and t.refs("atlas"), t.id
            assert t.refs("owasp-ml") or t.refs("owasp-llm"), t.id


def test_every_reference_has_its_framework_format_version_and_title() -> None:
    cat = load_catalogue()
    for t in cat.threats:
        for r in t.references:
            assert re.match(ID_FORMATS[r.framework], r.id), (t.id, r.id)
            assert r.version == PINNED[r.framework], (t.id, r.id)
            assert r.title and r.title == cat.frameworks[r.framework].titles[r.id]


def test_owasp_lists_are_complete_and_nist_ids_are_the_e2025_ones() -> None:
    fws = load_catalogue().frameworks
    assert list(fws["owasp-ml"].titles) == [f"ML{i:02d}:2023" for i in range(1, 11)]
    assert list(fws["owasp-llm"].titles) == [f"LLM{i:02d}:2025" for i in range(1, 11)]
    assert fws["owasp-llm"].titles["LLM07:2025"] == "System Prompt Leakage"
    assert fws["owasp-ml"].titles["ML05:2023"] == "Model Theft"
    assert fws["nist"].titles["NISTAML.022"] == "Evasion"
    assert fws["nist"].titles["NISTAML.033"] == "Membership Inference"
    assert fws["nist"].titles["NISTAML.015"] == "Indirect Prompt Injection"


def test_atlas_ids_are_checked_against_the_shipped_extract() -> None:
    extract = json.loads(
        resources.files("aisec.taxonomy").joinpath("data", "atlas-extract.json").read_text()
    )
    assert extract["version"] == "5.6.0" and extract["license"] == "Apache-2.0"
    assert "MITRE" in extract["attribution"]
    names = {e["id"]: e["name"] for e in extract["entries"]}
    assert names["AML.T0015"] == "Evade AI Model"
    assert names["AML.T0051.001"] == "Indirect"
    cat = load_catalogue()
    used = {r.id for t in cat.threats for r in t.refs("atlas")}
    used |= {m.atlas for t in cat.threats for m in [*t.defences, *t.controls] if m.atlas}
    assert used <= names.keys()
    notice = resources.files("aisec.taxonomy").joinpath("data", "NOTICE.md").read_text()
    assert "Apache License" in notice and "5.6" in notice


@pytest.mark.skipif(
    not SHARED_ATLAS.is_file(), reason="the full ATLAS data file is not on this machine"
)
def test_shipped_extract_matches_the_atlas_release() -> None:
    atlas = yaml.safe_load(SHARED_ATLAS.read_text(encoding="utf-8"))
    shipped = json.loads(
        resources.files("aisec.taxonomy").joinpath("data", "atlas-extract.json").read_text()
    )
    assert build_extract(atlas, referenced_atlas_ids(_raw())) == shipped


def test_extract_builder_rejects_ids_missing_from_the_release() -> None:
    atlas = {
        "version": "9.9",
        "matrices": [{"techniques": [{"id": "AML.T0015", "name": "Evade AI Model"}]}],
    }
    assert build_extract(atlas, {"AML.T0015"})["entries"] == [
        {"id": "AML.T0015", "name": "Evade AI Model", "tactics": [], "ml_specific": True}
    ]
    with pytest.raises(SystemExit, match=r"AML\.T0099"):
        build_extract(atlas, {"AML.T0015", "AML.T0099"})


def test_schema_check_reports_every_kind_of_bad_entry() -> None:
    frameworks, clauses = _frameworks()
    raw = _raw()
    assert check_catalogue(raw, frameworks, {c.id for c in clauses}) == []
    bad = copy.deepcopy(raw)
    e = bad["threats"][0]
    e["references"] += [
        {"framework": "owasp-ml", "version": "2023", "id": "ML11:2023"},
        {"framework": "owasp-llm", "version": "2023", "id": "LLM01:2025"},
        {"framework": "atlas", "version": "5.6.0", "id": "AML.T9999"},
    ]
    e["ai_act"].append("15(9)")
    e["tests"].append("PGD")
    bad["threats"][1]["lifecycle_stages"] = ["someday"]
    del bad["threats"][2]["controls"]
    problems = "\n".join(check_catalogue(bad, frameworks, {c.id for c in clauses}))
    assert "'ML11:2023' does not have the ID format" in problems
    assert "pinned is 2025" in problems
    assert "AML.T9999 is not a known MITRE ATLAS" in problems
    assert "unknown AI Act clause '15(9)'" in problems
    assert "'PGD' is not of the form" in problems
    assert "lifecycle_stages" in problems and "controls" in problems


def test_named_tests_exist_in_the_registry() -> None:
    registry = available_tests()
    for t in load_catalogue().threats:
        for test_id in t.tests:
            assert test_id in registry, (
                f"{t.id} names {test_id}, which is not registered (move it to planned_tests)"
            )


def test_registered_tests_declare_catalogue_threats() -> None:
    ids = set(load_catalogue().ids)
    for test_id, cls in available_tests().items():
        assert set(cls.threats) <= ids, (
            f"{test_id} declares unknown threats {set(cls.threats) - ids}"
        )


def test_search_by_framework_id_title_and_filter() -> None:
    cat = load_catalogue()
    assert [t.id for t in cat.search("AML.T0024.000")] == ["membership-inference"]
    assert "model-extraction" in [t.id for t in cat.search("model theft")]
    llm = {t.id for t in cat.search("", framework="owasp-llm")}
    assert "prompt-injection-direct" in llm and "evasion-digital" not in llm
    assert cat.search("no such threat anywhere") == []
    with pytest.raises(ConfigError, match="unknown framework"):
        cat.search("x", framework="iso")
    with pytest.raises(ConfigError, match="unknown threat id"):
        cat.get("evasion")
