"""Profiles: built-ins load, and invalid profiles say which field is wrong and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec.errors import ConfigError
from aisec.threat import builtin_profiles, load_profile, parse_profile


def test_every_builtin_profile_loads() -> None:
    names = builtin_profiles()
    assert {
        "digits-classifier",
        "traffic-sign-camera",
        "llm-agent",
        "tabular-credit",
        "third-party-pretrained",
    } <= set(names)
    for name in names:
        p = load_profile(f"builtin:{name}")
        assert p.name == name and p.source == f"builtin:{name}"


def test_profile_from_a_file_records_its_absolute_path(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(
        "name: cam\ntechnology: deep-learning\ntask: classification\nmodality: image\n"
        "exposure: [physical-world]\noutputs: [label]\n"
    )
    p = load_profile(f)
    assert p.source == str(f.resolve()) and p.exposure == ["physical-world"]


def test_invalid_fields_are_all_named_with_their_allowed_values(base_facts: dict) -> None:
    with pytest.raises(ConfigError) as info:
        parse_profile(
            {**base_facts, "modality": "photo", "exposure": ["internet"], "colour": "red"}
        )
    msg = str(info.value)
    assert "`modality` must be one of 'image', 'tabular'" in msg and "got 'photo'" in msg
    assert (
        "`exposure` must be one of 'internal', 'public-api', 'on-device' or 'physical-world'" in msg
    )
    assert "unknown field `colour`" in msg
    assert len(info.value.problems) == 3


def test_missing_and_inconsistent_facts(base_facts: dict) -> None:
    facts = {k: v for k, v in base_facts.items() if k != "technology"}
    with pytest.raises(ConfigError, match="`technology` is required"):
        parse_profile(facts)
    with pytest.raises(ConfigError, match="`tools` is for LLM agents"):
        parse_profile({**base_facts, "tools": ["email"]})
    with pytest.raises(ConfigError, match=r"targets\[0\]"):
        parse_profile({**base_facts, "targets": [{"name": "x"}]})


def test_unknown_builtin_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown built-in profile 'nope'; available: .*digits-classifier"
    ):
        load_profile("builtin:nope")
    with pytest.raises(ConfigError, match="not found"):
        load_profile(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_profile(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_profile(listed)
