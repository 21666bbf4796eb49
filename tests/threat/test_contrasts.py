"""Systems that differ in one fact get the threat models that fact implies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.threat.conftest import BASE, make

from aisec.threat import derive_threats, load_profile

CHAT_APP = {
    **BASE,
    "name": "chat-app",
    "technology": "large-model",
    "task": "generation",
    "modality": "text",
    "exposure": ["public-api"],
    "outputs": ["generated-text"],
    "model_formats": [],
    "provenance": "third-party-pretrained",
}
AGENT = {**CHAT_APP, "name": "agent", "task": "agent"}


def _applies(profile) -> set[str]:
    return {t.id for t in derive_threats(profile).applicable}


def test_hosted_api_application_vs_self_hosted_model() -> None:
    hosted = derive_threats(make(CHAT_APP, model_hosting="provider-api"))
    served = derive_threats(make(CHAT_APP, model_formats=["pickle"]))
    hosted_ids = {t.id for t in hosted.applicable}
    served_ids = {t.id for t in served.applicable}
    own_files = {"unsafe-model-serialization", "model-tampering", "ml-software-supply-chain"}
    assert own_files <= served_ids and not own_files & hosted_ids
    assert "model-extraction" not in hosted_ids and "model-extraction" in served_ids
    assert "provider" in hosted.get("model-poisoning-supply-chain").rationale
    assert {"prompt-injection-direct", "jailbreak-misuse"} <= hosted_ids
    # A fine-tuned hosted model is the organisation's again: extraction and membership apply.
    tuned = _applies(make(CHAT_APP, model_hosting="provider-api", provenance="fine-tuned"))
    assert {"model-extraction", "membership-inference"} <= tuned


def test_tool_that_reads_untrusted_content_vs_tool_that_only_acts() -> None:
    reader = derive_threats(make(AGENT, tools=[{"name": "web-browsing", "reads_untrusted": True}]))
    actor = derive_threats(make(AGENT, tools=[{"name": "python", "acts": True}]))
    reader_ids = {t.id for t in reader.applicable}
    actor_ids = {t.id for t in actor.applicable}
    assert "prompt-injection-indirect" in reader_ids and "excessive-agency" not in reader_ids
    assert "excessive-agency" in actor_ids and "prompt-injection-indirect" not in actor_ids
    # Acting tools raise the impact of direct injection; a reading tool does not.
    assert (
        actor.get("prompt-injection-direct").impact > reader.get("prompt-injection-direct").impact
    )
    both = derive_threats(
        make(AGENT, tools=[{"name": "mail", "reads_untrusted": True, "acts": True}])
    )
    assert both.get("excessive-agency").likelihood > actor.get("excessive-agency").likelihood


def test_plain_tool_names_still_load_and_are_assumed_to_read_and_act() -> None:
    legacy = derive_threats(make(AGENT, tools=["email"]))
    ids = {t.id for t in legacy.applicable}
    assert {"prompt-injection-indirect", "excessive-agency"} <= ids
    assert any("given by name only (email)" in n for n in legacy.notes)
    described = derive_threats(make(AGENT, tools=[{"name": "email", "acts": True}]))
    assert not any("given by name only" in n for n in described.notes)


def test_tflite_on_device_vs_pickle() -> None:
    mobile = {**BASE, "exposure": ["on-device"], "provenance": "trained-in-house"}
    tflite = derive_threats(make(mobile, model_formats=["tflite"]))
    pickled = derive_threats(make(mobile, model_formats=["pickle"]))
    unknown = derive_threats(make(mobile, model_formats=["other"]))
    assert not tflite.get("unsafe-model-serialization").applicable
    assert pickled.get("unsafe-model-serialization").applicable
    assert pickled.get("unsafe-model-serialization").risk_level in ("high", "critical")
    # An unknown format is a question, not a verdict: lower than pickle, with a note.
    assert (
        unknown.get("unsafe-model-serialization").risk
        < pickled.get("unsafe-model-serialization").risk
    )
    assert any("`other`" in n for n in unknown.notes)
    # On the device the model can be copied and changed: theft and tampering, with paths.
    record = tflite.get("model-tampering")
    assert record.applicable and "AML.T0004" in {p.id for p in record.attack_paths}
    assert "AML.T0044" in {p.id for p in tflite.get("model-extraction").attack_paths}


def test_text_gets_text_tests_and_image_gets_image_budgets() -> None:
    text = derive_threats(make(modality="text"))
    image = derive_threats(make(modality="image"))
    assert text.plan.budget is None
    assert not [t for t in text.plan.tests if t.id.startswith("evasion.")]
    assert "evasion.text" in text.plan.planned
    assert text.get("evasion-digital").applicable and not text.get("evasion-digital").tests
    image_pgd = next(t for t in image.plan.tests if t.id == "evasion.pgd")
    assert image_pgd.params["eps"] == round(8 / 255, 6)
    assert "evasion.text" not in image.plan.planned
    tabular = derive_threats(make(modality="tabular"))
    assert next(t for t in tabular.plan.tests if t.id == "evasion.pgd").params["eps"] == 0.05


def test_text_only_large_models_can_be_evaded() -> None:
    translator = derive_threats(make(CHAT_APP, task="generation", model_hosting="self-hosted"))
    assert translator.get("evasion-digital").applicable


def test_extraction_impact_follows_model_value() -> None:
    frontier = derive_threats(
        make(CHAT_APP, provenance="trained-in-house", model_value="very-high")
    )
    cheap = derive_threats(make(CHAT_APP, provenance="trained-in-house", model_value="low"))
    assert frontier.get("model-extraction").impact == 5
    assert cheap.get("model-extraction").impact == 2
    ranked = [t.id for t in frontier.applicable]
    assert ranked.index("model-extraction") < 3


def test_biometric_capture_on_the_users_device_is_easier_to_spoof() -> None:
    kyc = {**BASE, "exposure": ["public-api"], "biometric": "user-device"}
    kiosk = {**BASE, "exposure": ["physical-world"], "biometric": "trusted-sensor"}
    user = derive_threats(make(kyc)).get("biometric-spoofing")
    sensor = derive_threats(make(kiosk)).get("biometric-spoofing")
    assert user.applicable and sensor.applicable and user.likelihood > sensor.likelihood
    assert not derive_threats(make()).get("biometric-spoofing").applicable


def test_old_profiles_load_with_notes(tmp_path: Path) -> None:
    for name in ("digits-classifier", "traffic-sign-camera", "tabular-credit"):
        tm = derive_threats(load_profile(f"builtin:{name}"))
        assert tm.applicable and any("software_sources" in n for n in tm.notes)


def _aisec(*args: str, cwd: Path) -> Any:
    """Run ``aisec ARGS`` in-process from ``cwd`` (stdout and stderr kept apart)."""
    from typer.testing import CliRunner

    from aisec.cli.main import app

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        return CliRunner().invoke(app, list(args))


def test_emit_config_for_a_chat_application_probes_the_stand_in_bot(tmp_path: Path) -> None:
    profile = tmp_path / "chat.yaml"
    profile.write_text(yaml.safe_dump({**CHAT_APP, "model_hosting": "provider-api"}))
    out = tmp_path / "plan.yaml"
    res = _aisec(
        "threats", "-p", str(profile), "-f", "json", "--emit-config", str(out), cwd=tmp_path
    )
    assert res.exit_code == 0, res.stderr
    config = yaml.safe_load(out.read_text())
    assert config["targets"] == [
        {"name": "support-bot", "chat": "builtin:support-bot", "stand_in": True}
    ]
    assert "prompt.injection" in {t["id"] for t in config["tests"]}


def test_emitted_config_marks_the_placeholder_and_says_what_it_left_out(tmp_path: Path) -> None:
    out = tmp_path / "plan.yaml"
    res = _aisec(
        "threats",
        "-p",
        "builtin:third-party-pretrained",
        "-f",
        "json",
        "--emit-config",
        str(out),
        cwd=tmp_path,
    )
    assert res.exit_code == 0, res.stderr
    config = yaml.safe_load(out.read_text())
    assert all(t.get("stand_in") for t in config["targets"])
    assert "left out supplychain.scan" in res.stderr and "stand-in" in res.stderr


def test_the_built_in_bot_stands_in_only_for_systems_of_another_modality() -> None:
    from aisec.threat.evidence import stand_in_targets

    bot = [{"name": "bot", "chat": "builtin:support-bot"}]
    assert "bot" in stand_in_targets(load_profile("builtin:demo"), bot)
    assert stand_in_targets(load_profile("builtin:llm-agent"), bot) == {}
    endpoint = [{"name": "api", "chat": "openai:http://127.0.0.1:8000/v1#m"}]
    assert stand_in_targets(load_profile("builtin:demo"), endpoint) == {}
