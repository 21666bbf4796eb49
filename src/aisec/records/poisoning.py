"""Outcome records of the poisoning family and of backdoor forensics.

Poisoning tests retrain the target's architecture on poisoned copies of its training data and
measure what the poisons did (:class:`PoisoningOutcome`); the backdoor scan examines a model
someone else trained (:class:`BackdoorScanOutcome`); the data-set check examines a training
set before anyone trains on it (:class:`DataIntegrityOutcome`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from aisec.records.outcome import OMIT_EMPTY, OMIT_NONE, Outcome


@dataclass(frozen=True)
class PoisonPoint:
    """The poisoned model trained at one poisoning rate."""

    rate: float
    """Fraction of the training set that is poisoned."""
    n_poisoned: int
    """Poisoned training samples."""
    clean_accuracy: float
    """Accuracy of the poisoned model on the clean test set."""
    attack_success_rate: float
    """Fraction of eligible test inputs on which the attack achieves its goal."""


@dataclass(frozen=True)
class DetectionScore:
    """How well a data-set defence picked out the poisons of one poisoned training set."""

    method: str
    """``activation-clustering`` or ``spectral-signatures``."""
    flagged: int
    """Training samples the defence flagged."""
    precision: float
    """Flagged samples that are poisons."""
    recall: float
    """Poisons that were flagged."""
    rate: float
    """Poisoning rate of the training set examined."""


@dataclass(frozen=True)
class MitigationScore:
    """A poisoned model before and after one mitigation."""

    method: str
    """``fine-pruning`` or ``retrain-filtered`` (retrained without the flagged samples)."""
    clean_accuracy_before: float
    """Clean test accuracy of the poisoned model."""
    clean_accuracy_after: float
    """Clean test accuracy after the mitigation."""
    attack_success_before: float
    """Attack success rate of the poisoned model."""
    attack_success_after: float
    """Attack success rate after the mitigation."""
    detail: Mapping[str, float] = field(default_factory=dict)
    """Method specifics, e.g. ``pruned_fraction`` or ``removed``."""


@dataclass(frozen=True)
class PoisoningOutcome(Outcome):
    """What poisoning a training set at one or more rates did to the trained model."""

    kind: ClassVar[str] = "poisoning"

    attack: str
    """``label-flip``, ``backdoor`` or ``clean-label``."""
    mode: str
    """Label flip: ``random`` or ``pair``; backdoor: ``all-to-one`` or ``all-to-all``."""
    n_train: int
    """Training samples (poisoned or not)."""
    n_test: int
    """Clean test samples."""
    baseline_accuracy: float
    """Clean test accuracy of the model trained on the clean training set."""
    baseline_attack_success: float
    """The attack's success measure on the clean model (what happens without any poison)."""
    rate: float
    """The headline poisoning rate (the largest measured)."""
    clean_accuracy: float
    """Clean test accuracy of the model poisoned at ``rate``."""
    attack_success_rate: float
    """Attack success at ``rate``."""
    curve: tuple[PoisonPoint, ...]
    """Every measured rate, ascending."""
    target_class: int | None = field(default=None, metadata=OMIT_NONE)
    """Class the attack pushes inputs to (None for random flips and all-to-all)."""
    source_class: int | None = field(default=None, metadata=OMIT_NONE)
    """Class whose inputs a pair flip targets."""
    trigger: str | None = field(default=None, metadata=OMIT_NONE)
    """``patch`` or ``blend`` for backdoors."""
    wrong_labels: int = 0
    """Poisoned training samples whose label is not their true class (0 for clean-label)."""
    detections: tuple[DetectionScore, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Data-set defences run on the training set poisoned at ``rate``."""
    mitigations: tuple[MitigationScore, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Mitigations applied to the model poisoned at ``rate``."""
    scan: BackdoorScanOutcome | None = field(default=None, metadata=OMIT_NONE)
    """Backdoor scan of the model poisoned at ``rate`` (the true trigger is known here)."""
    notes: tuple[str, ...] = field(default=(), metadata=OMIT_EMPTY)
    """What was asked for but could not be measured, and why."""

    @property
    def accuracy_drop(self) -> float:
        """Clean accuracy lost to the poisons at the headline rate."""
        return self.baseline_accuracy - self.clean_accuracy


@dataclass(frozen=True)
class StripScore:
    """A STRIP runtime detector calibrated on clean data."""

    n_clean: int
    """Clean held-out inputs the false-positive rate was measured on."""
    false_positive_rate: float
    """Clean inputs flagged as triggered."""
    false_positive_rate_ci95: tuple[float, float]
    """Clopper-Pearson interval of the false-positive rate."""
    target_fpr: float
    """False-positive rate the threshold was set for, on calibration data."""
    threshold: float
    """Entropy below which an input is flagged."""
    n_triggered: int = 0
    """Triggered inputs the detection rate was measured on (0: none available)."""
    detection_rate: float | None = field(default=None, metadata=OMIT_NONE)
    """Triggered inputs flagged."""
    trigger: str = ""
    """Which trigger the triggered inputs carry: ``true`` or ``recovered``."""


@dataclass(frozen=True)
class BackdoorScanOutcome(Outcome):
    """Trigger reverse-engineering (Neural Cleanse) and STRIP on one model, with a verdict."""

    kind: ClassVar[str] = "backdoor-scan"

    backdoored: bool
    """The verdict: some class is reached by an anomalously small trigger (anomaly index above
    ``threshold`` and under half the median trigger size)."""
    target_class: int | None
    """The suspected target class (None when not backdoored)."""
    anomaly_index: float
    """Largest anomaly index among classes whose trigger is smaller than the median."""
    threshold: float
    """Anomaly index above which a model is judged backdoored (2.0, as in the paper)."""
    relative_size: float
    """The most anomalous class's trigger size over the median trigger size."""
    mask_l1: tuple[float, ...]
    """L1 norm of the smallest trigger mask found per class."""
    anomaly: tuple[float, ...]
    """Anomaly index per class (positive: smaller trigger than the median)."""
    trigger_success: tuple[float, ...]
    """Fraction of clean inputs the recovered trigger sends to each class."""
    n: int
    """Clean inputs the triggers were optimised on."""
    clean_accuracy: float
    """The model's accuracy on the clean data."""
    steps: int
    """Optimisation steps per class."""
    strip: StripScore | None = field(default=None, metadata=OMIT_NONE)
    """STRIP detector measured on the same model."""
    true_target_class: int | None = field(default=None, metadata=OMIT_NONE)
    """The planted target class, when the scan ran on a model aisec poisoned itself."""


@dataclass(frozen=True)
class DataIntegrityOutcome(Outcome):
    """A third-party training set checked before training: duplicates, label noise, balance."""

    kind: ClassVar[str] = "data-integrity"

    n: int
    """Samples checked."""
    exact_duplicates: int
    """Samples identical to an earlier one (inputs equal)."""
    conflicting_duplicates: int
    """Exact duplicates whose labels disagree."""
    near_duplicates: int
    """Samples within ``near_threshold`` (L2, relative to the median neighbour distance) of
    another that is not an exact duplicate."""
    near_threshold: float
    """Near-duplicate radius as a fraction of the median nearest-neighbour distance."""
    label_noise: float
    """Estimated fraction of wrong labels (confident disagreement of out-of-fold predictions)."""
    suspect_labels: tuple[int, ...]
    """Indices of the samples whose label looks wrong (first 200)."""
    class_counts: Mapping[str, int]
    """Samples per class."""
    balance_shift: float | None = field(default=None, metadata=OMIT_NONE)
    """Total-variation distance between the class shares and the reference's (0 to 1)."""
    balance_p_value: float | None = field(default=None, metadata=OMIT_NONE)
    """Chi-square test p-value of the class counts against the reference's shares."""
    reference_counts: Mapping[str, int] = field(default_factory=dict, metadata=OMIT_EMPTY)
    """Samples per class in the reference set."""
