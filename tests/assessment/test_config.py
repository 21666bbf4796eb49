"""Assessment configs: valid ones load, every problem in a bad one is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from aisec.assessment.config import load_config, parse_config
from aisec.errors import ConfigError

GOOD = {
    "name": "t",
    "targets": [
        {"name": "cnn", "builtin": "digits-cnn", "data": "builtin:digits:test", "limit": 50}
    ],
    "tests": [{"id": "evasion.pgd", "params": {"eps": 0.1}}],
}


def test_valid_config_parses() -> None:
    cfg = parse_config(GOOD)
    assert cfg.targets[0].limit == 50
    assert cfg.fail_on == "high"


def test_unknown_field_and_bad_values_are_all_reported() -> None:
    bad = {
        "name": "t",
        "targets": [
            {"name": "cnn", "builtin": "digits-cnn", "colour": "red", "output_mode": "everything"}
        ],
        "tests": [{"id": "evasion.pgd"}],
        "fail_on": "severe",
    }
    with pytest.raises(ConfigError) as err:
        parse_config(bad)
    msg = str(err.value)
    assert "targets.0.colour: unknown field" in msg
    assert "targets.0.output_mode" in msg and "label_only" in msg
    assert "fail_on" in msg and "critical" in msg
    assert "\n" not in msg


def test_unknown_test_id_lists_available_tests() -> None:
    with pytest.raises(ConfigError, match=r"unknown test 'evasion\.nope'.*evasion\.pgd"):
        parse_config({**GOOD, "tests": [{"id": "evasion.nope"}]})


def test_target_needs_exactly_one_source() -> None:
    with pytest.raises(ConfigError, match="exactly one of"):
        parse_config({**GOOD, "targets": [{"name": "x"}]})


def test_unknown_target_reference() -> None:
    with pytest.raises(ConfigError, match="unknown target 'other'"):
        parse_config({**GOOD, "tests": [{"id": "evasion.pgd", "targets": ["other"]}]})


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\ntargets: [\n  - a: b\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(p)


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(
        "targets:\n  - name: m\n    torchscript: model.pt\n    input_shape: [1, 8, 8]\n    data: d.npz\n"
        "tests:\n  - id: evasion.fgsm\n"
    )
    cfg = load_config(p)
    assert cfg.targets[0].torchscript == str(tmp_path / "model.pt")
    assert cfg.targets[0].data == str(tmp_path / "d.npz")


def test_bad_attack_params_are_gathered_at_plan_time() -> None:
    from aisec.assessment.plan import expand

    cfg = parse_config(
        {**GOOD, "tests": [{"id": "evasion.pgd", "params": {"eps": -1, "steps": 0, "colour": 1}}]}
    )
    with pytest.raises(ConfigError) as err:
        expand(cfg)
    msg = str(err.value)
    assert "`eps`" in msg and "`steps`" in msg and "unknown parameter `colour`" in msg
