"""Gradient-masking sanity checks: silent on a real CNN, loud on deliberately masked models."""

from __future__ import annotations

import pytest
from masked_models import Quantised, Saturated, wrap

from aisec.attacks.evasion.sanity import Figures, GradientMaskingSanity, judge
from aisec.records import Severity

FAST = {"limit": 60, "steps": 20, "square_queries": 300}


def test_no_check_fires_on_the_real_cnn(digits_cnn, digits_test) -> None:
    test = GradientMaskingSanity(**FAST)
    r = test.run(digits_cnn, digits_test, seed=0)
    assert r.ok, r.message
    assert r.metrics["failed"] == []
    assert test.findings(r) == []
    assert len(r.metrics["checks"]) == 6


@pytest.mark.parametrize(
    ("module", "expected"),
    [(Quantised, {"SAN-001", "SAN-003", "SAN-005"}), (Saturated, {"SAN-001", "SAN-005"})],
)
def test_checks_fire_on_masked_models(module, expected, digits_cnn, digits_test) -> None:
    target = wrap(digits_cnn, module)
    test = GradientMaskingSanity(**FAST)
    r = test.run(target, digits_test, seed=0)
    assert r.ok, r.message
    assert r.metrics["n"] == 60
    assert expected <= set(r.metrics["failed"])
    findings = test.findings(r)
    assert {f.rule for f in findings} == set(r.metrics["failed"])
    assert all(f.severity is Severity.HIGH and "gradient masking" in f.title for f in findings)


def _figures(**changes) -> Figures:
    sound = {
        "unbounded_eps": 1.0,
        "unbounded_success_rate": 1.0,
        "success_rate": 0.5,
        "more_effort_success_rate": 0.55,
        "white_box_success_rate": 0.6,
        "black_box_success_rate": 0.58,
        "curve": [
            {"eps": 0.05, "robust_accuracy": 0.9},
            {"eps": 0.1, "robust_accuracy": 0.5},
            {"eps": 0.2, "robust_accuracy": 0.0},
        ],
        "zero_or_nan_fraction": 0.0,
    }
    return Figures(**{**sound, **changes})


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"unbounded_success_rate": 0.9}, "SAN-001"),
        ({"more_effort_success_rate": 0.4}, "SAN-002"),
        ({"black_box_success_rate": 0.7}, "SAN-003"),
        (
            {"curve": [{"eps": 0.1, "robust_accuracy": 0.5}, {"eps": 0.2, "robust_accuracy": 0.6}]},
            "SAN-004",
        ),
        ({"zero_or_nan_fraction": 0.6}, "SAN-005"),
        ({"randomized_fraction": 0.1}, "SAN-006"),
    ],
)
def test_each_rule_fires_on_its_symptom_alone(changes, rule) -> None:
    params = GradientMaskingSanity().resolved_params()
    assert all(c["passed"] for c in judge(_figures(), params))
    failed = [c["rule"] for c in judge(_figures(**changes), params) if not c["passed"]]
    assert failed == [rule]


def test_binary_models_are_checked_too(linear_torch) -> None:
    r = GradientMaskingSanity(eps=0.5, **FAST).run(linear_torch.target, linear_torch.data, seed=0)
    assert r.ok, r.message
    assert r.metrics["failed"] == []
