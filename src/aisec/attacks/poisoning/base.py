"""The poisoning family's base: retrain on poisoned copies of the training set, measure.

A poisoning test trains the target's architecture through its recipe, once on the clean
training split (the baseline) and once per poisoning rate on a poisoned copy, always with the
same training seed, so the only difference between the models is the poison. Each model is
measured on the clean test split: clean accuracy, and the attack's own success measure. At
the largest rate, data-set defences, mitigations and a backdoor scan may run on the poisoned
training set and model (backdoors only).

Each attack writes three hooks: :meth:`PoisoningAttack._setup` (what the attack needs, from
the clean data and the baseline model), :meth:`PoisoningAttack._poison` (a poisoned training
set at one rate) and :meth:`PoisoningAttack._success` (the attack's success on a model).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from aisec import progress
from aisec.base import Measurement, NotApplicable, SecurityTest
from aisec.data.dataset import Dataset
from aisec.data.splits import TEST, TRAIN, Splits
from aisec.errors import TargetError
from aisec.findings import FindingRule
from aisec.params import Interval, ListOf, Param, declare
from aisec.records import Severity
from aisec.records.poisoning import PoisoningOutcome, PoisonPoint
from aisec.targets.base import Capability, Target
from aisec.targets.views import Trainable, classifier, trainable

MAX_RATES = 12
"""Most poisoning rates one run trains models for."""


@dataclass(frozen=True)
class Poisoned:
    """A poisoned training set."""

    x: np.ndarray
    """Inputs (poisons in place of the clean samples they replace)."""
    y: np.ndarray
    """Labels as the attacker leaves them."""
    index: np.ndarray
    """Positions of the poisons in ``x``."""
    wrong_labels: int
    """Poisons whose label is not their true class."""


@dataclass
class PoisonContext:
    """What an attack prepared once for every rate."""

    params: dict[str, Any]
    """The attack's resolved parameters."""
    n_classes: int
    """Classes of the task."""
    bounds: tuple[float, float]
    """Input bounds."""
    seed: int
    """The run's seed."""
    baseline: Target
    """The model trained on the clean training set."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Attack-specific state (trigger, target class, source class)."""


def predict_labels(model: Target, x: np.ndarray, what: str) -> np.ndarray:
    """Labels a trained model predicts (through its classifier view)."""
    return classifier(model, what).predict_labels(x)


def accuracy(model: Target, data: Dataset, what: str) -> float:
    """Accuracy of a trained model on labelled data."""
    return float(np.mean(predict_labels(model, data.x, what) == data.y))


class PoisoningAttack(SecurityTest):
    """Base of the training-time attacks; subclasses write the three hooks."""

    family = "poisoning"
    requires = frozenset({Capability.TRAINABLE})
    data_kind = "splits"
    required_splits = (TRAIN, TEST)
    array_inputs = True
    outcome_type = PoisoningOutcome
    attack: ClassVar[str] = ""
    """Short name of the attack in the outcome (``label-flip``, ``backdoor``, ``clean-label``)."""
    parameters = declare(
        rates=Param(
            [0.01, 0.05, 0.1],
            ListOf(Interval(float, 0.0, 0.5, closed="right"), max_len=MAX_RATES),
            "Poisoning rates (fractions of the training set) to train a model at.",
        ),
    )

    def _execute(
        self, target: Target, data: Splits, params: dict[str, Any], seed: int
    ) -> Measurement | NotApplicable:
        view = trainable(target, self.id)
        train, test = data[TRAIN], data[TEST]
        spec = classifier(target, self.id).spec
        progress.note("training the clean baseline")
        baseline = self._train(view, train.x, train.y, seed)
        ctx = PoisonContext(params, spec.n_classes, spec.bounds, seed, baseline)
        skip = self._setup(train, test, ctx)
        if skip is not None:
            return NotApplicable(skip)
        base_acc = accuracy(baseline, test, self.id)
        base_success = self._success(baseline, test, ctx)
        rates = sorted(float(r) for r in params["rates"])
        curve: list[PoisonPoint] = []
        last: tuple[Poisoned, Target] | None = None
        for i, rate in enumerate(rates):
            progress.note(f"rate {rate:g} ({i + 1}/{len(rates)})")
            poisoned = self._poison(train, rate, ctx)
            model = self._train(view, poisoned.x, poisoned.y, seed)
            curve.append(
                PoisonPoint(
                    rate,
                    len(poisoned.index),
                    accuracy(model, test, self.id),
                    self._success(model, test, ctx),
                )
            )
            last = (poisoned, model)
        assert last is not None
        extras, artifacts = self._at_headline(train, test, ctx, *last, view)
        head = curve[-1]
        outcome = PoisoningOutcome(
            attack=self.attack,
            mode=str(ctx.extra.get("mode", "")),
            n_train=len(train),
            n_test=len(test),
            baseline_accuracy=base_acc,
            baseline_attack_success=base_success,
            rate=head.rate,
            clean_accuracy=head.clean_accuracy,
            attack_success_rate=head.attack_success_rate,
            curve=tuple(curve),
            target_class=ctx.extra.get("target_class"),
            source_class=ctx.extra.get("source_class"),
            trigger=ctx.extra.get("trigger_kind"),
            wrong_labels=last[0].wrong_labels,
            **extras,
        )
        per_sample = {"poisoned": np.isin(np.arange(len(train)), last[0].index)}
        return Measurement(outcome, per_sample=per_sample, artifacts=artifacts)

    def _train(self, view: Trainable, x: np.ndarray, y: np.ndarray, seed: int) -> Target:
        model = view.train(x, y, seed)
        if Capability.LABELS not in model.capabilities:
            raise TargetError(
                f"the training recipe {view.recipe.name!r} returned a model that answers no "
                "labels; a recipe must return a classifier target"
            )
        return model

    @abstractmethod
    def _setup(self, train: Dataset, test: Dataset, ctx: PoisonContext) -> str | None:
        """Prepare ``ctx.extra``; return a reason to skip, or None."""

    @abstractmethod
    def _poison(self, train: Dataset, rate: float, ctx: PoisonContext) -> Poisoned:
        """The training set poisoned at ``rate``."""

    @abstractmethod
    def _success(self, model: Target, test: Dataset, ctx: PoisonContext) -> float:
        """The attack's success on ``model`` (clean test data, triggered where it applies)."""

    def _at_headline(
        self,
        train: Dataset,
        test: Dataset,
        ctx: PoisonContext,
        poisoned: Poisoned,
        model: Target,
        view: Trainable,
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Outcome fields and artifacts measured on the headline rate's set and model."""
        return {}, {}


def n_poisons(rate: float, n: int) -> int:
    """Poisoned samples at ``rate`` of ``n`` (at least one)."""
    return max(1, round(rate * n))


def _title(o: PoisoningOutcome, s: Any) -> str:
    if o.attack == "label-flip" and o.mode == "random":
        return (
            f"{o.rate:.0%} flipped labels cost {s.target} {o.accuracy_drop:.1%} clean accuracy "
            f"({o.baseline_accuracy:.1%} -> {o.clean_accuracy:.1%})"
        )
    return (
        f"{o.attack} poisoning of {o.rate:.0%} of the training set succeeds on "
        f"{o.attack_success_rate:.0%} of test inputs against {s.target}'s training pipeline "
        f"(clean model: {o.baseline_attack_success:.0%}; clean accuracy "
        f"{o.baseline_accuracy:.1%} -> {o.clean_accuracy:.1%})"
    )


def added_success(o: PoisoningOutcome) -> float:
    """Attack success the poisons add over the clean model (availability: accuracy lost)."""
    if o.attack == "label-flip" and o.mode == "random":
        return max(0.0, o.accuracy_drop) / max(o.baseline_accuracy, 1e-12)
    return max(0.0, o.attack_success_rate - o.baseline_attack_success)


POI_001: FindingRule[PoisoningOutcome] = FindingRule(
    rule="POI-001",
    outcome=PoisoningOutcome,
    measure=added_success,
    thresholds={
        Severity.CRITICAL: 0.9,
        Severity.HIGH: 0.5,
        Severity.MEDIUM: 0.2,
        Severity.LOW: 0.05,
    },
    title=_title,
    evidence=lambda o: {
        "attack": o.attack,
        "mode": o.mode,
        "rate": o.rate,
        "n_poisoned": o.curve[-1].n_poisoned,
        "attack_success_rate": o.attack_success_rate,
        "baseline_attack_success": o.baseline_attack_success,
        "clean_accuracy": o.clean_accuracy,
        "baseline_accuracy": o.baseline_accuracy,
        "wrong_labels": o.wrong_labels,
        "curve": [[p.rate, p.attack_success_rate, p.clean_accuracy] for p in o.curve],
    },
    key=lambda o: f"{o.attack}:{o.mode}:{o.rate:g}",
    recommendation=(
        "Control who can write training data (provenance, access control), check third-party "
        "data sets before training (aisec data-check), filter the training set (activation "
        "clustering, spectral signatures) and scan trained models for backdoors before release."
    ),
    recommendation_below=(
        "The pipeline resisted these poisons at these rates; re-assess with larger rates or "
        "stronger triggers after changes to the training recipe."
    ),
)
"""Rule POI-001 (docs/findings.md): severity from the success the poisons add."""
