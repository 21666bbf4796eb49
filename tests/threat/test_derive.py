"""Derivation is driven by the profile: contrasting profiles give contrasting threat models."""

from __future__ import annotations

import json
from typing import Any

from aisec.assessment.config import parse_config
from aisec.attacks.evasion import FGSM, PGD
from aisec.taxonomy import load_catalogue
from aisec.threat import SystemProfile, ThreatRecord, derive_threats, load_profile


def _applies(profile: SystemProfile, threat_id: str) -> bool:
    return derive_threats(profile).get(threat_id).applicable


def test_prompt_injection_applies_to_an_llm_agent_not_to_an_offline_classifier(
    make_profile, offline, llm_facts
) -> None:
    agent = make_profile(llm_facts)
    for tid in (
        "prompt-injection-direct",
        "prompt-injection-indirect",
        "jailbreak-misuse",
        "sensitive-data-leakage",
    ):
        assert _applies(agent, tid), tid
        assert not _applies(offline, tid), tid
    record = derive_threats(agent).get("prompt-injection-indirect")
    assert "email" in record.rationale and record.rationale.startswith("Applies")
    assert (
        "no natural-language instructions"
        in derive_threats(offline).get("prompt-injection-direct").rationale
    )
    # without tools or untrusted content there is no indirect channel
    chat = make_profile(llm_facts, tools=[], untrusted_content=False)
    assert _applies(chat, "prompt-injection-direct") and not _applies(
        chat, "prompt-injection-indirect"
    )
    # tools raise the impact of direct injection
    assert (
        derive_threats(agent).get("prompt-injection-direct").impact
        > derive_threats(chat).get("prompt-injection-direct").impact
    )


def test_physical_evasion_only_with_physical_world_input(make_profile, offline) -> None:
    camera = make_profile(exposure=["physical-world"])
    assert _applies(camera, "evasion-physical") and not _applies(offline, "evasion-physical")
    assert "physical world" in derive_threats(camera).get("evasion-physical").rationale
    assert "does not" in derive_threats(offline).get("evasion-physical").rationale.lower()
    assert _applies(load_profile("builtin:traffic-sign-camera"), "evasion-physical")
    assert not _applies(load_profile("builtin:digits-classifier"), "evasion-physical")


def test_membership_inference_risk_rises_with_sensitive_data_and_scores(make_profile) -> None:
    def mi(**facts: Any) -> ThreatRecord:
        return derive_threats(make_profile(**facts)).get("membership-inference")

    base = mi()
    sensitive = mi(training_data_sensitivity="special-category")
    scores = mi(outputs=["label", "scores"])
    both = mi(training_data_sensitivity="special-category", outputs=["label", "scores"])
    assert base.applicable and sensitive.applicable
    assert sensitive.impact > base.impact and sensitive.risk > base.risk
    assert scores.likelihood > base.likelihood and scores.risk > base.risk
    assert both.risk > max(sensitive.risk, scores.risk)
    assert any("scores" in reason for _, reason in scores.likelihood_factors)


def test_supply_chain_threats_appear_for_third_party_pretrained_models(
    make_profile, offline
) -> None:
    hub = make_profile(provenance="third-party-pretrained", model_formats=["pickle"])
    for tid in ("model-poisoning-supply-chain", "unsafe-model-serialization", "backdoor"):
        assert _applies(hub, tid), tid
        assert not _applies(offline, tid), tid
    builtin = derive_threats(load_profile("builtin:third-party-pretrained"))
    assert builtin.get("unsafe-model-serialization").applicable
    # a pickle model trained in-house still executes code on load; safetensors does not
    assert _applies(make_profile(model_formats=["joblib"]), "unsafe-model-serialization")


def test_privacy_threats_follow_the_sensitivity_of_training_data(make_profile, offline) -> None:
    personal = make_profile(
        training_data_sensitivity="personal", modality="tabular", technology="classical-ml"
    )
    for tid in ("attribute-inference", "model-inversion"):
        assert _applies(personal, tid) and not _applies(offline, tid), tid


def test_poisoning_follows_the_data_sources(make_profile, offline) -> None:
    crowd = make_profile(data_sources=["in-house", "user-generated", "feedback-loop"])
    assert _applies(crowd, "data-poisoning") and not _applies(offline, "data-poisoning")
    assert derive_threats(crowd).get("data-poisoning").likelihood >= 4


def test_records_have_the_interface_fields_and_serialise(make_profile, llm_facts) -> None:
    tm = derive_threats(make_profile(llm_facts))
    data = json.loads(json.dumps(tm.to_dict()))
    assert set(data) == {"profile", "threats", "plan", "notes"}
    assert len(data["threats"]) == len(load_catalogue().threats)
    keys = set(
        [
            "id",
            "name",
            "applicable",
            "rationale",
            "likelihood",
            "impact",
            "risk",
            "lifecycle_stages",
            "nist",
            "atlas",
            "owasp",
            "ai_act",
            "tests",
        ]
    )
    for t in data["threats"]:
        assert keys <= set(t)
        assert all(a.startswith("AML.T") for a in t["atlas"])
        assert t["risk"] == t["likelihood"] * t["impact"]
        assert (t["risk"] > 0) == t["applicable"]
    pi = next(t for t in data["threats"] if t["id"] == "prompt-injection-direct")
    assert (
        "LLM01:2025" in pi["owasp"]
        and "NISTAML.018" in pi["nist"]
        and "AML.T0051.000" in pi["atlas"]
    )
    # applicable threats come first, by risk
    flags = [t["applicable"] for t in data["threats"]]
    assert flags == sorted(flags, reverse=True)


def test_plan_uses_the_profile_budget_and_registered_tests() -> None:
    tm = derive_threats(load_profile("builtin:digits-classifier"))
    pgd = next(t for t in tm.plan.tests if t.id == "evasion.pgd")
    assert pgd.params == {"eps": 0.1, "norm": "linf", "curve": [0.05, 0.2]}
    assert "evasion-digital" in pgd.threats
    mia = next(t for t in tm.plan.tests if t.id == "inference.membership")
    assert "membership-inference" in mia.threats
    assert "denial-of-service" in tm.plan.untested  # no test for it yet: a gap, not dropped
    # a registry without PGD: the plan falls back to what exists and lists PGD as planned
    tm2 = derive_threats(load_profile("builtin:digits-classifier"), registry={"evasion.fgsm": FGSM})
    assert [t.id for t in tm2.plan.tests] == ["evasion.fgsm"]
    assert "evasion.pgd" in tm2.plan.planned
    # no evasion test at all: evasion is untested
    tm3 = derive_threats(load_profile("builtin:digits-classifier"), registry={})
    assert tm3.plan.tests == [] and "evasion-digital" in tm3.plan.untested
    # label-only outputs choose no score-based attack; the default image budget is 8/255
    tm4 = derive_threats(
        load_profile("builtin:third-party-pretrained"), registry={"evasion.pgd": PGD}
    )
    assert tm4.plan.tests[0].params["eps"] == round(8 / 255, 6)
    # label-only camera: decision-based attack with the profile's query budget, plus a patch test
    camera = derive_threats(load_profile("builtin:traffic-sign-camera"))
    by_id = {t.id: t for t in camera.plan.tests}
    assert by_id["evasion.hsj"].params["queries"] == 1000 and "evasion.square" not in by_id
    assert "evasion-physical" in by_id["evasion.patch"].threats


def test_plan_config_is_a_valid_assessment_config(make_profile) -> None:
    tm = derive_threats(load_profile("builtin:digits-classifier"))
    cfg = tm.plan_config()
    parsed = parse_config(cfg)
    assert parsed.profile == "builtin:digits-classifier"
    assert [t.name for t in parsed.targets] == ["digits-cnn", "digits-logreg"]
    assert [t.id for t in parsed.tests] == [t.id for t in tm.plan.tests if not t.scans_files]
    custom = tm.plan_config(
        targets=[{"name": "m", "builtin": "digits-cnn", "data": "builtin:digits:test"}]
    )
    assert [t["name"] for t in custom["targets"]] == ["m"]
    # a profile without targets gets a placeholder built-in target; classical ML gets the logreg
    tabular = derive_threats(make_profile(technology="classical-ml", modality="tabular"))
    cfg2 = tabular.plan_config()
    parse_config(cfg2)
    assert cfg2["targets"][0]["builtin"] == "digits-logreg" and "profile" not in cfg2
    # file scanners run only when a target lists files to scan
    hub = derive_threats(load_profile("builtin:third-party-pretrained"))
    assert "supplychain.scan" in [t.id for t in hub.plan.tests]
    assert "supplychain.scan" not in [t["id"] for t in hub.plan_config()["tests"]]
    model = {
        "name": "hub",
        "builtin": "digits-cnn",
        "data": "builtin:digits:test",
        "files": ["m.pkl"],
    }
    assert "supplychain.scan" in [t["id"] for t in hub.plan_config(targets=[model])["tests"]]
