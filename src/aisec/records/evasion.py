"""Outcome records of the evasion family: budgeted and minimum-norm attacks, the ensemble,
the adversarial patch, natural corruptions and the gradient-masking sanity checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aisec.records.outcome import OMIT_EMPTY, OMIT_NONE, Outcome

MAX_CURVE_POINTS = 64
"""Most budgets one run measures robust accuracy at (an attack's ``curve``, evade's ``--eps``)."""


@dataclass(frozen=True)
class CurvePoint:
    """Robust accuracy at one budget."""

    eps: float
    """The budget."""
    robust_accuracy: float
    """Fraction of all points still classified correctly at that budget."""


@dataclass(frozen=True)
class QueryCost:
    """Model queries spent per attacked point (black-box attacks)."""

    mean: float
    """Mean over the clean-correct points."""
    median: float
    """Median over the clean-correct points."""
    max: int
    """Most queries one point took."""
    total: int
    """All queries of the attack."""


@dataclass(frozen=True)
class MinimalNorm:
    """Size of the smallest adversarial perturbation a minimum-norm attack found."""

    norm: str
    """``linf``, ``l2`` or ``l1``."""
    median: float | None
    """Median over clean-correct points for which an adversarial was found."""
    mean: float | None
    """Mean over the same points."""


@dataclass(frozen=True)
class GradientSigns:
    """Signs of gradient masking a gradient attack saw on the points it left unbroken."""

    attack: str
    """The attack that watched its own gradients."""
    unbroken: int
    """Attacked points the attack did not break (the only ones whose gradients are in doubt)."""
    flagged: int
    """Unbroken points with at least one sign below."""
    saturated: int
    """Softmax exactly one-hot: cross-entropy and its gradient exactly zero."""
    zero_gradient: int
    """Input gradient exactly zero although the loss was not saturated."""
    non_finite: int
    """NaN or infinity in the logits, the loss or the gradient."""
    no_progress: int
    """The loss never rose above its first value over a whole run."""
    switched_to_margin: int = 0
    """Unbroken points on which a saturated cross-entropy was replaced by a margin loss."""
    not_found: int = 0
    """Minimum-norm attacks without a budget: points for which no adversarial was found at all,
    although the search was unbounded (a sound model has an adversarial for every point)."""
    attacked: int = 0
    """Points the attack was given."""
    unbounded: bool = False
    """A minimum-norm search without a budget: every point it leaves unbroken is a failure."""

    @property
    def flagged_fraction(self) -> float:
        """Flagged share of the unbroken points (of the attacked points, for an unbounded
        search); 0 when there is no such point."""
        base = self.attacked if self.unbounded else self.unbroken
        return self.flagged / base if base else 0.0

    @property
    def main_sign(self) -> str:
        """The most frequent sign, by name."""
        counts = {
            "saturated softmax": self.saturated,
            "zero gradients": self.zero_gradient,
            "non-finite values": self.non_finite,
            "no progress of the loss": self.no_progress,
            "no adversarial in an unbounded search": self.not_found,
        }
        return max(counts, key=lambda k: counts[k])


@dataclass(frozen=True)
class EnsembleStage:
    """One attack of the evaluation ensemble, after it ran on the points still robust."""

    attack: str
    """Stage label, e.g. ``apgd-t``."""
    robust_accuracy: float
    """Robust accuracy of the ensemble after this stage."""
    seconds: float
    """Wall-clock time of the stage."""
    broken: int
    """Points this stage broke at the budget."""
    unavailable: bool = field(default=False, metadata=OMIT_EMPTY)
    """True when the stage's attack is not available in this installation."""


@dataclass(frozen=True)
class EvasionOutcome(Outcome):
    """What an evasion attack measured at its budget (and along its curve).

    ``robust_accuracy`` counts points that are classified correctly and that the attack did not
    break within ``eps``; rates are over all ``n`` points unless said otherwise.
    """

    kind: ClassVar[str] = "evasion"

    n: int
    """Points evaluated."""
    eps: float | None
    """The budget (None for a minimum-norm attack run without one)."""
    norm: str
    """``linf``, ``l2`` or ``l1``."""
    targeted: bool
    """Whether the attack aimed at chosen classes."""
    clean_accuracy: float
    """Accuracy without attack (targeted: points whose label is not their target)."""
    robust_accuracy: float
    """Accuracy under the attack at ``eps``."""
    robust_accuracy_ci95: tuple[float, float]
    """Wilson 95% interval of ``robust_accuracy``."""
    attack_success_rate: float
    """Fraction of clean-correct points the attack broke."""
    mean_linf: float | None
    """Mean L-inf size of the successful perturbations."""
    median_linf: float | None
    """Median L-inf size of the successful perturbations."""
    mean_l2: float | None
    """Mean L2 size of the successful perturbations."""
    median_l2: float | None
    """Median L2 size of the successful perturbations."""
    mean_l1: float | None
    """Mean L1 size of the successful perturbations."""
    curve: tuple[CurvePoint, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Robust accuracy at every budget of the curve (the budget included)."""
    queries: QueryCost | None = field(default=None, metadata=OMIT_EMPTY)
    """Query cost, for attacks that count queries."""
    minimal_perturbation: MinimalNorm | None = field(default=None, metadata=OMIT_EMPTY)
    """Minimal perturbations found, for minimum-norm attacks."""
    preset: str | None = field(default=None, metadata=OMIT_EMPTY)
    """Ensemble preset, e.g. ``standard``."""
    preset_departures: tuple[str, ...] | None = field(default=None, metadata=OMIT_NONE)
    """How the ensemble preset departs from the published standard version."""
    stages: tuple[EnsembleStage, ...] = field(default=(), metadata=OMIT_EMPTY)
    """The ensemble's stages at the budget, in order."""
    apgd_runs: int | None = field(default=None, metadata=OMIT_EMPTY)
    """APGD: runs per point (restarts times target classes) when more than one."""
    gradient_signs: GradientSigns | None = field(default=None, metadata=OMIT_NONE)
    """Gradient attacks: signs of gradient masking on the points left unbroken (rule EVA-002)."""


@dataclass(frozen=True)
class TransformationResult:
    """Patch success under one held-out transformation family."""

    transformation: str
    """Family name, e.g. ``rotation`` or ``combined``."""
    success_rate: float
    """Success of the adversarial patch on eligible images."""
    random_patch_success_rate: float
    """Success of a random patch of the same size under the same conditions."""
    clean_accuracy: float
    """Accuracy under these conditions without any patch."""
    accuracy_with_patch: float
    """Accuracy with the adversarial patch."""
    n: int
    """Eligible (image, condition) pairs."""


@dataclass(frozen=True)
class PatchOutcome(Outcome):
    """What a universal adversarial patch achieved on held-out images and conditions."""

    kind: ClassVar[str] = "patch"

    n: int
    """Images given."""
    n_train: int
    """Images the patch was trained on."""
    n_eval: int
    """Held-out images it was evaluated on."""
    targeted: bool
    """Whether the patch forces ``target_class``."""
    target_class: int | None
    """The forced class, when targeted."""
    patch_side: int
    """Side of the square patch in pixels."""
    patch_fraction: float
    """Fraction of the image area the patch covers."""
    clean_accuracy: float
    """Accuracy on held-out images without the patch."""
    accuracy_with_patch: float
    """Accuracy with the patch under held-out conditions."""
    success_rate: float
    """Success on eligible held-out images under held-out conditions."""
    attack_success_rate: float
    """Same as ``success_rate`` (the name every family shares)."""
    random_patch_success_rate: float
    """Success of a random patch of the same size (the baseline)."""
    per_transformation: tuple[TransformationResult, ...]
    """Success per held-out transformation family."""
    in_distribution_success_rate: float
    """Success on held-out images under the training conditions."""
    in_distribution_random_patch_success_rate: float
    """The random patch's success under the training conditions."""
    train_success_rate: float
    """Success on the training images under the training conditions."""
    eot: bool
    """Whether the patch was trained with Expectation over Transformation."""
    steps: int
    """Training steps."""
    total_variation: float
    """Total variation of the patch rescaled to [0, 1]."""
    non_printability: float
    """Non-printability score of the patch rescaled to [0, 1]."""
    training_loss: tuple[float, ...]
    """Loss along training (a few points)."""


@dataclass(frozen=True)
class CorruptionCell:
    """Accuracy under one corruption at one severity."""

    corruption: str
    """Corruption name, e.g. ``gaussian_noise``."""
    severity: int
    """1 (mild) to 5 (severe)."""
    accuracy: float
    """Accuracy on the corrupted copy."""


@dataclass(frozen=True)
class CorruptionOutcome(Outcome):
    """Accuracy under natural corruptions (a non-adversarial baseline)."""

    kind: ClassVar[str] = "corruptions"

    n: int
    """Points evaluated."""
    clean_accuracy: float
    """Accuracy on the clean inputs."""
    severities: tuple[int, ...]
    """Severities applied."""
    accuracy: Mapping[str, tuple[float, ...]]
    """Per corruption: accuracy at each severity, in the order of ``severities``."""
    per_corruption: tuple[CorruptionCell, ...]
    """Every (corruption, severity) cell."""
    mean_corruption_accuracy: float
    """Mean accuracy over all cells (mCA)."""
    relative_drop: float
    """``(clean - mCA) / clean``."""
    per_corruption_relative_drop: Mapping[str, float]
    """The same drop per corruption."""
    worst: CorruptionCell | None
    """The cell with the lowest accuracy."""
    skipped: tuple[str, ...] = ()
    """Corruptions that do not apply to these inputs (image-only ones on tabular data)."""


@dataclass(frozen=True)
class SanityCheck:
    """One gradient-masking check and its verdict."""

    rule: str
    """Rule id, ``SAN-001`` to ``SAN-006``."""
    check: str
    """Short key, e.g. ``unbounded``."""
    title: str
    """What the check verifies."""
    passed: bool
    """Whether the evaluation passed it."""
    evidence: Mapping[str, Any]
    """The measured values behind the verdict."""


@dataclass(frozen=True)
class SanityOutcome(Outcome):
    """Verdicts of the gradient-masking sanity checks."""

    kind: ClassVar[str] = "sanity"

    n: int
    """Points the checks ran on."""
    eps: float
    """Budget of the checks."""
    norm: str
    """Norm of the checks."""
    checks: tuple[SanityCheck, ...]
    """Every check, in rule order."""
    failed: tuple[str, ...]
    """Rule ids of the failed checks."""
