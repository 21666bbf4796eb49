"""Poisoning attacks through a real training recipe on real digits data.

The claims: BadNets reaches high attack success at a small rate with little clean-accuracy
loss (two seeds); the clean-label backdoor works without any wrong label; label flips change
exactly the labels they say; data-set defences find most poisons and mitigations lower the
attack's success.
"""

from __future__ import annotations

import numpy as np
import pytest

from aisec.data import load_builtin
from aisec.data.splits import Splits
from aisec.errors import ParameterError
from aisec.records.poisoning import PoisoningOutcome
from aisec.registry import get_test


@pytest.fixture(scope="module")
def digits_splits() -> Splits:
    return Splits({"train": load_builtin("digits:train"), "test": load_builtin("digits:test")})


@pytest.fixture(scope="module")
def cnn(digits_splits):
    """The digits CNN architecture with a fast recipe (12 epochs) of its own."""
    from poisoning_models import fast_cnn_target

    train = digits_splits["train"]
    return fast_cnn_target(train.x, train.y, 0)


@pytest.fixture(scope="module")
def badnets(cnn, digits_splits):
    """BadNets at 5% with every defence, mitigation and the scan (seed 0)."""
    test = get_test("poisoning.backdoor")(
        rates=[0.05],
        target_class=7,
        detect=["activation-clustering", "spectral-signatures"],
        mitigate=["fine-pruning", "retrain-filtered"],
        scan=True,
    )
    return test.run(cnn, digits_splits, seed=0)


def test_badnets_high_success_little_accuracy_loss(badnets):
    o = badnets.outcome
    assert isinstance(o, PoisoningOutcome)
    assert o.curve[0].n_poisoned == round(0.05 * o.n_train)
    assert o.wrong_labels == o.curve[0].n_poisoned
    assert o.baseline_attack_success < 0.05
    assert o.attack_success_rate > 0.9
    assert o.baseline_accuracy - o.clean_accuracy < 0.03
    assert badnets.findings[0].rule == "POI-001"
    assert badnets.findings[0].severity.value == "critical"
    assert int(badnets.per_sample["poisoned"].sum()) == o.curve[0].n_poisoned


def test_badnets_on_a_second_seed(cnn, digits_splits):
    r = get_test("poisoning.backdoor")(rates=[0.03], target_class=2).run(cnn, digits_splits, seed=1)
    assert r.outcome.attack_success_rate > 0.8
    assert r.outcome.baseline_accuracy - r.outcome.clean_accuracy < 0.03


def test_blended_and_all_to_all_backdoors(cnn, digits_splits):
    blend = get_test("poisoning.backdoor")(rates=[0.1], trigger="blend", alpha=0.3).run(
        cnn, digits_splits, seed=0
    )
    o = blend.outcome
    assert o.trigger == "blend" and o.attack_success_rate > 0.8 > o.baseline_attack_success
    assert np.allclose(blend.artifacts["trigger_mask"], 0.3)  # mixed over the whole input
    # all-to-all (c -> c+1) needs a class-dependent response: weaker at the same rate
    o = (
        get_test("poisoning.backdoor")(rates=[0.1], mode="all-to-all")
        .run(cnn, digits_splits, seed=0)
        .outcome
    )
    assert o.mode == "all-to-all" and o.target_class is None
    assert o.attack_success_rate > o.baseline_attack_success + 0.2


def test_defences_find_most_poisons(badnets):
    scores = {d.method: d for d in badnets.outcome.detections}
    assert set(scores) == {"activation-clustering", "spectral-signatures"}
    assert scores["spectral-signatures"].recall > 0.6
    assert scores["activation-clustering"].recall > 0.4
    # at least twice the 5% base rate: over seeds 0-2 precision measured 0.13, 0.45 and 0.33 (an
    # AMD EPYC machine; seed 0 splits off a clean cluster too), so the bar leaves room for
    # floating-point differences between CPUs
    assert scores["activation-clustering"].precision > 0.10


def test_mitigations_lower_attack_success(badnets):
    by = {m.method: m for m in badnets.outcome.mitigations}
    # fine-pruning halves the backdoor on this small CNN, it does not remove it
    assert by["fine-pruning"].attack_success_after < by["fine-pruning"].attack_success_before - 0.1
    assert by["retrain-filtered"].attack_success_after < 0.5
    assert by["retrain-filtered"].detail["poisons_left"] < 0.3 * badnets.outcome.curve[0].n_poisoned
    for m in by.values():
        assert m.clean_accuracy_after > 0.85, m


def test_scan_of_the_poisoned_model_names_the_target(badnets):
    scan = badnets.outcome.scan
    assert scan.backdoored and scan.target_class == 7 == scan.true_target_class
    assert scan.strip.trigger == "true"
    assert scan.strip.detection_rate > 0.8
    assert badnets.artifacts["scan_trigger_mask"].shape == (1, 8, 8)


def test_outcome_round_trips_through_json(badnets):
    o = badnets.outcome
    assert PoisoningOutcome.from_dict(o.to_dict()) == o


def test_clean_label_backdoor_works_without_wrong_labels(cnn, digits_splits):
    r = get_test("poisoning.clean-label")(rates=[0.1], target_class=0).run(
        cnn, digits_splits, seed=0
    )
    o = r.outcome
    assert o.wrong_labels == 0
    poisoned = r.per_sample["poisoned"]
    assert np.all(digits_splits["train"].y[poisoned] == 0)
    assert o.attack_success_rate > o.baseline_attack_success + 0.3


def test_label_flip_pair_and_random(digits_splits):
    from poisoning_models import mlp_target

    train = digits_splits["train"]
    target = mlp_target(train.x, train.y, 0)
    from dataclasses import replace

    from aisec.targets.recipes import recipe_from_reference

    target = replace(target, recipe=recipe_from_reference("poisoning_models:train_mlp", target))
    pair = get_test("poisoning.label-flip")(
        mode="pair", source_class=1, target_class=7, rates=[0.02, 0.1]
    ).run(target, digits_splits, seed=0)
    o = pair.outcome
    assert o.wrong_labels == min(int(np.sum(train.y == 1)), round(0.1 * len(train)))
    assert o.curve[0].attack_success_rate < o.curve[1].attack_success_rate
    assert o.attack_success_rate > 0.8
    flip = get_test("poisoning.label-flip")(rates=[0.2]).run(target, digits_splits, seed=0)
    assert flip.outcome.wrong_labels == round(0.2 * len(train))


def test_parameters_are_checked(digits_cnn, digits_splits):
    with pytest.raises(ParameterError, match="target_class"):
        get_test("poisoning.backdoor")(target_class=12).run(digits_cnn, digits_splits)
    with pytest.raises(ParameterError, match="detect"):
        get_test("poisoning.backdoor")(detect=["magic"])
    with pytest.raises(ParameterError, match="rates"):
        get_test("poisoning.backdoor")(rates=[0.9])


def test_a_test_split_alone_is_refused(digits_cnn):
    from aisec.errors import DataError

    with pytest.raises(DataError, match="train"):
        get_test("poisoning.backdoor")().run(
            digits_cnn, Splits({"test": load_builtin("digits:test")})
        )


def test_defences_needing_layers_say_why_they_did_not_run(digits_logreg, digits_splits):
    r = get_test("poisoning.backdoor")(rates=[0.05], detect=["spectral-signatures"], scan=True).run(
        digits_logreg, digits_splits, seed=0
    )
    o = r.outcome
    assert not o.detections and o.scan is None
    assert o.notes and o.notes[0].startswith("spectral-signatures, scan not run")
    assert o.attack_success_rate > o.baseline_attack_success  # the backdoor itself still ran
