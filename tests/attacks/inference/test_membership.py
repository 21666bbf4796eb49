"""Membership inference on real models trained here: leakage, attacks compared, the null case."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.attacks.inference import MembershipInference
from aisec.attacks.inference.references import balanced_masks
from aisec.data.dataset import Dataset
from aisec.data.splits import MEMBERS, NON_MEMBERS, Splits
from aisec.errors import DataError
from aisec.records import Severity, Status
from aisec.records.privacy import MembershipOutcome
from aisec.targets.base import InputSpec
from aisec.targets.recipes import TrainingRecipe
from aisec.targets.sklearn import SklearnClassifier
from privacy_models import OVERFIT, REGULARISED, digits_splits, trained


def run(target, data, **params) -> MembershipOutcome:
    result = MembershipInference(**params).run(target, data, seed=0)
    assert result.status is Status.OK, result.message
    assert isinstance(result.outcome, MembershipOutcome)
    return result.outcome


@pytest.fixture(scope="module")
def overfit_lira() -> MembershipOutcome:
    return run(trained(OVERFIT), digits_splits(), attack="lira", references=8)


def test_an_overfitted_model_leaks_more_than_a_regularised_one(overfit_lira) -> None:
    regular = run(trained(REGULARISED), digits_splits(), attack="lira", references=8)
    assert regular.test_accuracy > 0.85  # a useful model, not a broken one
    assert overfit_lira.auc > regular.auc + 0.05
    assert overfit_lira.tpr_at_1pct_fpr > 2 * regular.tpr_at_1pct_fpr
    assert overfit_lira.tpr_at_1pct_fpr_ci[0] > 0.01  # significant, not noise


def test_lira_and_rmia_beat_the_loss_threshold_at_low_fpr(overfit_lira) -> None:
    loss = run(trained(OVERFIT), digits_splits(), attack="loss")
    rmia = run(trained(OVERFIT), digits_splits(), attack="rmia", references=8)
    assert loss.n_reference == 0 and overfit_lira.n_reference == 8
    for strong in (overfit_lira, rmia):
        assert strong.tpr_at_1pct_fpr > loss.tpr_at_1pct_fpr + 0.02
        assert strong.tpr_at_1pct_fpr_ci[0] > loss.tpr_at_1pct_fpr_ci[0]


def test_the_other_variants_and_the_shadow_attack_run_on_the_same_sweep(overfit_lira) -> None:
    offline = run(trained(OVERFIT), digits_splits(), attack="lira", references=8, online=False)
    per_example = run(
        trained(OVERFIT), digits_splits(), attack="lira", references=8, variance="per-example"
    )
    shadow = run(trained(OVERFIT), digits_splits(), attack="shadow", references=8)
    assert "offline" in offline.variant and "per-example" in per_example.variant
    for o in (offline, per_example, shadow):
        assert o.auc > 0.52
    # the ROC is kept on a log grid that reaches the smallest resolvable FPR
    assert overfit_lira.roc[0].fpr == pytest.approx(overfit_lira.fpr_resolution)
    assert overfit_lira.roc[-1].tpr == 1.0


def test_label_only_targets_get_the_augmentation_attack(overfit_lira) -> None:
    labels = trained(OVERFIT).with_output_mode("label_only")
    o = run(labels, digits_splits(), attack="lira", references=8, n_augment=8)
    assert o.output_mode == "label_only"
    assert 0.5 < o.auc < overfit_lira.auc


def test_a_finding_states_the_low_fpr_leakage(overfit_lira) -> None:
    result = MembershipInference(attack="lira", references=8).run(
        trained(OVERFIT), digits_splits(), seed=0
    )
    (finding,) = result.findings
    assert finding.rule == "MIA-001"
    assert finding.severity.rank >= Severity.LOW.rank
    assert "at 1% false positives" in finding.title
    assert result.outcome == overfit_lira  # the sweep is reused, the result reproducible


def _gaussian(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 5)) + y[:, None] * 0.8
    return np.clip((x + 4) / 8, 0, 1).astype(np.float32), y.astype(np.int64)


def _logreg(x: np.ndarray, y: np.ndarray, seed: int) -> SklearnClassifier:
    from sklearn.linear_model import LogisticRegression

    est = LogisticRegression(C=1.0).fit(x, y)
    return SklearnClassifier(est, InputSpec((5,), 2), name="logreg", recipe=RECIPE)


RECIPE = TrainingRecipe("logreg", _logreg)


def test_members_the_model_never_saw_give_chance_figures() -> None:
    # The model trains on its own data; "members" and "non-members" are both fresh i.i.d.
    # records, so no attack can tell them apart: AUC ~ 0.5 and TPR at FPR x ~ x.
    target = _logreg(*_gaussian(2000, 0), 0)
    a, b = _gaussian(6000, 1), _gaussian(6000, 2)
    data = Splits({MEMBERS: Dataset(*a, "a"), NON_MEMBERS: Dataset(*b, "b")})
    for attack in ("loss", "lira"):
        o = run(target, data, attack=attack, references=4, max_samples=6000, bootstrap=100)
        assert abs(o.auc - 0.5) < 0.02, attack
        assert o.auc_ci[0] < 0.5 < o.auc_ci[1] or abs(o.auc - 0.5) < 0.01
        assert o.tpr_at_1pct_fpr < 0.025, attack
        assert o.tpr_at_01pct_fpr < 0.006, attack


def test_scikit_learn_targets_leak_when_they_memorise() -> None:
    from sklearn.ensemble import RandomForestClassifier

    def forest(x: np.ndarray, y: np.ndarray, seed: int) -> SklearnClassifier:
        est = RandomForestClassifier(n_estimators=30, random_state=seed, n_jobs=1).fit(x, y)
        return SklearnClassifier(est, InputSpec((5,), 2), name="forest", recipe=recipe)

    recipe = TrainingRecipe("forest", forest)
    x, y = _gaussian(800, 3)
    data = Splits(
        {"train": Dataset(x[:400], y[:400], "tr"), "test": Dataset(x[400:], y[400:], "te")}
    )
    o = run(forest(x[:400], y[:400], 0), data, attack="lira", references=8)
    assert o.train_accuracy > 0.99 and o.auc > 0.6


def test_reference_masks_are_balanced() -> None:
    masks = balanced_masks(8, 50, seed=0)
    assert masks.shape == (8, 50)
    assert (masks.sum(axis=0) == 4).all()
    assert not (masks == balanced_masks(8, 50, seed=1)).all()


def test_a_target_without_recipe_is_skipped_for_reference_attacks() -> None:
    target = trained(OVERFIT)
    from dataclasses import replace

    bare = replace(target, recipe=None)
    result = MembershipInference(attack="lira").run(bare, digits_splits(), seed=0)
    assert result.status is Status.SKIPPED and "recipe" in result.message
    assert run(bare, digits_splits(), attack="loss").n_reference == 0


def test_overlapping_members_and_non_members_are_refused() -> None:
    train = digits_splits()["train"]
    data = Splits({MEMBERS: train, NON_MEMBERS: train})
    with pytest.raises(DataError, match="also appear among the members"):
        MembershipInference(attack="loss").run(trained(OVERFIT), data)


def test_splits_without_non_members_name_what_is_missing() -> None:
    data = Splits({MEMBERS: digits_splits()["train"]})
    with pytest.raises(DataError, match="non-members"):
        MembershipInference(attack="loss").run(trained(OVERFIT), data)
