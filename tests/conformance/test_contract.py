"""One contract over every registered test: metadata, parameters, and honest evasion results."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from aisec.attacks.evasion.base import EvasionAttack
from aisec.errors import CapabilityError, ParameterError
from aisec.records import Result
from aisec.records.outcome import Outcome, outcome_class
from aisec.registry import available_tests
from aisec.targets import Capability

TESTS = available_tests()
EVASION = {k: v for k, v in TESTS.items() if issubclass(v, EvasionAttack)}
FAMILIES = {
    "evasion",
    "poisoning",
    "forensics",
    "inference",
    "extraction",
    "prompt",
    "supplychain",
    "defence",
}
# Knobs turned down so that every attack runs in about a second on 24 digits.
FAST = {"steps": 5, "queries": 300, "restarts": 1, "n_target_classes": 2, "binary_search_steps": 3}
# C&W at the paper's learning rate moves too little in five steps; a larger one keeps it quick.
OVERRIDES = {"evasion.cw": {"lr": 0.2}}


def fast_params(cls: type[EvasionAttack], eps: float | None) -> dict:
    """Small budgets for the knobs an attack has; presets pick their cheapest."""
    params = {k: v for k, v in FAST.items() if k in cls.constraints}
    if "preset" in cls.constraints:
        params["preset"] = "fast"
    if eps is not None:
        params["eps"] = eps
    params.update(OVERRIDES.get(cls.id, {}))
    return params


@pytest.mark.parametrize("test_id", sorted(TESTS))
def test_metadata(test_id: str) -> None:
    cls = TESTS[test_id]
    assert cls.id == test_id
    assert cls.family in FAMILIES
    assert cls.name and inspect.getdoc(cls)
    assert all(isinstance(c, Capability) for c in cls.requires)
    assert cls.threats, f"{test_id} names no catalogue threat"
    if cls.family != "supplychain":
        assert cls.references, f"{test_id} cites no reference"
    assert set(cls.defaults) <= set(cls.constraints), "every default needs a declared constraint"


@pytest.mark.parametrize("test_id", sorted(TESTS))
def test_family_contract(test_id: str) -> None:
    """A typed outcome with a view of its own, rules that read it, one final ``run``."""
    cls = TESTS[test_id]
    assert cls.outcome_type is not None and issubclass(cls.outcome_type, Outcome)
    assert outcome_class(cls.outcome_type.kind) is cls.outcome_type
    assert cls.outcome_type.kind in _registered_view_kinds(), "the outcome kind needs a view"
    assert cls.rules, f"{test_id} declares no finding rule"
    for rule in cls.rules:
        assert issubclass(cls.outcome_type, rule.outcome)
    assert "run" not in vars(cls) and "_execute" in dir(cls)


def _registered_view_kinds() -> set[str]:
    from aisec.report.views.base import _VIEWS

    return set(_VIEWS)


@pytest.mark.parametrize("test_id", sorted(TESTS))
def test_unknown_parameters_are_rejected(test_id: str) -> None:
    with pytest.raises(ParameterError, match="unknown parameter `definitely_not_a_param`"):
        TESTS[test_id](definitely_not_a_param=1).resolved_params()


@pytest.mark.parametrize("test_id", sorted(EVASION))
def test_evasion_contract(test_id: str, digits_cnn, digits_logreg, digits_test) -> None:
    cls = EVASION[test_id]
    target = digits_cnn if Capability.GRADIENTS in cls.requires else digits_logreg
    data = digits_test.subset(24, seed=1)
    norm = "linf" if "linf" in cls.supported_norms else cls.supported_norms[0]
    eps = {"linf": 0.25, "l2": 2.0, "l1": 8.0}[norm]
    params = {**fast_params(cls, eps), "norm": norm}
    result = cls(**params).run(target, data, seed=0)
    assert result.ok, result.message
    m, ps = result.metrics, result.per_sample
    x_adv = result.artifacts["x_adv"]
    assert x_adv.shape == data.x.shape
    lo, hi = target.spec.bounds
    assert x_adv.min() >= lo - 1e-6 and x_adv.max() <= hi + 1e-6
    assert m["robust_accuracy"] <= m["clean_accuracy"]
    success = ps["success"].astype(bool)
    assert success.sum() > 0, f"{test_id} broke nothing at {norm} eps={eps}"
    # budget respected on every success, and success is what the model really does
    assert (ps[norm][success] <= eps * (1 + 1e-4) + 1e-6).all()
    pred = target.predict_labels(x_adv[success])
    assert (pred != data.y[success]).all()
    assert m["robust_accuracy"] == pytest.approx(np.mean(ps["clean_correct"] & ~success))
    # typed outcome, findings of this unit, and a JSON round trip that keeps both
    assert isinstance(result.outcome, cls.outcome_type)
    assert result.findings and all(f.unit == result.unit for f in result.findings)
    back = Result.from_dict(result.to_dict())
    assert back.outcome == result.outcome and back.findings == result.findings
    assert result.queries >= len(data)


@pytest.mark.parametrize("test_id", sorted(EVASION))
def test_eps_zero_equals_clean_accuracy(
    test_id: str, digits_cnn, digits_logreg, digits_test
) -> None:
    cls = EVASION[test_id]
    target = digits_cnn if Capability.GRADIENTS in cls.requires else digits_logreg
    data = digits_test.subset(24, seed=2)
    norm = "linf" if "linf" in cls.supported_norms else cls.supported_norms[0]
    result = cls(**{**fast_params(cls, 0.0), "norm": norm}).run(target, data, seed=0)
    assert result.ok, result.message
    assert result.metrics["robust_accuracy"] == pytest.approx(result.metrics["clean_accuracy"])


@pytest.mark.parametrize(
    "test_id", sorted(k for k, v in EVASION.items() if Capability.GRADIENTS in v.requires)
)
def test_white_box_attacks_refuse_label_only_targets(test_id: str, digits_cnn, digits_test) -> None:
    cls = EVASION[test_id]
    with pytest.raises(CapabilityError, match="needs gradients"):
        cls(**fast_params(cls, 0.1)).run(
            digits_cnn.with_output_mode("label_only"), digits_test.subset(4)
        )
