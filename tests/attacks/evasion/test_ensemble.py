"""The AutoAttack ensemble: the published standard preset, per-stage results, worst case."""

from __future__ import annotations

import pytest

from aisec.attacks.evasion.ensemble import DEPARTURES, PRESETS, Ensemble
from aisec.errors import ParameterError
from aisec.registry import get_test


def test_standard_preset_is_the_published_autoattack_standard_version() -> None:
    stages = [(s.label, s.attack_id, s.params) for s in PRESETS["standard"]]
    assert stages == [
        ("apgd-ce", "evasion.apgd-ce", {"steps": 100, "restarts": 1}),
        ("apgd-t", "evasion.apgd-t", {"steps": 100, "restarts": 1, "n_target_classes": 9}),
        (
            "fab-t",
            "evasion.fab",
            {"steps": 100, "restarts": 1, "n_target_classes": 9, "targeted": True},
        ),
        ("square", "evasion.square", {"queries": 5000, "restarts": 1, "p_init": 0.8}),
    ]
    assert DEPARTURES["standard"] == ()
    assert DEPARTURES["fast"]


def test_ensemble_is_no_weaker_than_any_of_its_attacks(digits_cnn, digits_test) -> None:
    data = digits_test.subset(40, seed=6)
    r = Ensemble(eps=0.1, preset="fast").run(digits_cnn, data, seed=0)
    m = r.metrics
    assert m["preset"] == "fast" and m["preset_departures"] == list(DEPARTURES["fast"])
    stages = m["stages"]
    assert [s["attack"] for s in stages] == ["apgd-ce", "apgd-t", "square"]
    accs = [s["robust_accuracy"] for s in stages]
    assert accs == sorted(accs, reverse=True)
    assert accs[-1] == pytest.approx(m["robust_accuracy"])
    assert sum(s["broken"] for s in stages) == int(r.per_sample["success"].sum())
    for stage in PRESETS["fast"]:
        single = get_test(stage.attack_id)(eps=0.1, **stage.params).run(digits_cnn, data, seed=0)
        assert m["robust_accuracy"] <= single.metrics["robust_accuracy"], stage.label
    pred = digits_cnn.predict_labels(r.artifacts["x_adv"])
    assert ((pred != data.y) == r.per_sample["success"])[r.per_sample["clean_correct"]].all()
    assert (r.per_sample["linf"] <= 0.1 * (1 + 1e-4)).all()


def test_standard_preset_runs_every_stage(digits_cnn, digits_test) -> None:
    data = digits_test.subset(24, seed=7)
    r = Ensemble(eps=0.3).run(digits_cnn, data, seed=0)
    stages = r.metrics["stages"]
    assert [s["attack"] for s in stages] == ["apgd-ce", "apgd-t", "fab-t", "square"]
    assert not any(s.get("unavailable") for s in stages)
    assert r.metrics["robust_accuracy"] == 0.0
    assert r.metrics["preset_departures"] == []


def test_l2_ensemble_respects_the_budget(digits_cnn, digits_test) -> None:
    data = digits_test.subset(40, seed=8)
    r = Ensemble(eps=1.0, norm="l2", preset="fast").run(digits_cnn, data, seed=0)
    assert r.metrics["attack_success_rate"] > 0.5
    assert (r.per_sample["l2"] <= 1.0 * (1 + 1e-4) + 1e-6).all()


def test_targeted_ensemble_is_refused(digits_cnn, digits_test) -> None:
    with pytest.raises(ParameterError, match="untargeted"):
        Ensemble(eps=0.1, targeted=True).run(digits_cnn, digits_test.subset(4), seed=0)
