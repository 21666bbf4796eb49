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


TORCHSCRIPT = {"name": "m", "torchscript": "model.pt", "input_shape": [1, 8, 8]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"targets": [{**GOOD["targets"][0], "limit": 0}]}, "targets.0.limit: must be at least 1"),
        (
            {"targets": [{**GOOD["targets"][0], "limit": -5}]},
            "at least 1 (a number of samples); got -5",
        ),
        ({"targets": [{**TORCHSCRIPT, "n_classes": 1}]}, "targets.0.n_classes: must be at least 2"),
        (
            {"targets": [{**TORCHSCRIPT, "input_shape": [0]}]},
            "targets.0.input_shape: must be a non-empty",
        ),
        ({"targets": [{**TORCHSCRIPT, "input_shape": [1, -8, 8]}]}, "sizes of at least 1"),
        (
            {"targets": [{**TORCHSCRIPT, "input_shape": []}]},
            "targets.0.input_shape: must be a non-empty",
        ),
        ({"targets": [{**TORCHSCRIPT, "bounds": [1, 0]}]}, "targets.0.bounds: must be [low, high]"),
        ({"targets": [{**TORCHSCRIPT, "bounds": [0, 0]}]}, "with low < high; got [0.0, 0.0]"),
        (
            {"targets": [{**TORCHSCRIPT, "bounds": [0, float("inf")]}]},
            "targets.0.bounds: must be [low, high], finite",
        ),
        ({"seed": -1}, "seed: must be a whole number from 0 to 4294967295; got -1"),
        ({"seed": 2**32}, "seed: must be a whole number from 0 to 4294967295; got 4294967296"),
    ],
)
def test_numbers_out_of_range_name_the_field_and_the_range(change, message) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({**GOOD, **change})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_numbers_at_the_ends_of_their_ranges_are_accepted() -> None:
    target = {**TORCHSCRIPT, "n_classes": 2, "input_shape": [1], "limit": 1, "bounds": [-1, 1]}
    cfg = parse_config({**GOOD, "seed": 2**32 - 1, "targets": [target]})
    assert cfg.seed == 2**32 - 1 and cfg.targets[0].limit == 1


def test_a_curve_longer_than_the_cap_is_refused_at_plan_time() -> None:
    from aisec.assessment.plan import expand

    many = [i / 1000 for i in range(65)]
    cfg = parse_config({**GOOD, "tests": [{"id": "evasion.pgd", "params": {"curve": many}}]})
    with pytest.raises(ConfigError, match="`curve` has 65 values; at most 64 are allowed"):
        expand(cfg)
    ok = {"curve": [*many[:63], many[0]]}  # 64 values, one of them twice
    expand(parse_config({**GOOD, "tests": [{"id": "evasion.pgd", "params": ok}]}))
