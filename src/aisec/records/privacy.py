"""Outcome records of the privacy and confidentiality families.

Membership inference (:class:`MembershipOutcome`), attribute inference
(:class:`AttributeOutcome`), model extraction (:class:`ExtractionOutcome`), the output-mode
trade-off (:class:`OutputModesOutcome`) and differentially private training
(:class:`DpTrainingOutcome`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from aisec.records.outcome import OMIT_EMPTY, OMIT_NONE, Outcome


@dataclass(frozen=True)
class RocPoint:
    """One point of a ROC curve."""

    fpr: float
    """False-positive rate."""
    tpr: float
    """Highest true-positive rate at that false-positive rate or below."""


@dataclass(frozen=True)
class MembershipOutcome(Outcome):
    """How well an attacker tells the model's training records from other records."""

    kind: ClassVar[str] = "membership"

    attack: str
    """``loss``, ``shadow``, ``lira`` or ``rmia``."""
    output_mode: str
    """What the target revealed per query (``label_only`` uses the augmentation variant)."""
    n_members: int
    """Members scored."""
    n_non_members: int
    """Non-members scored."""
    auc: float
    """Area under the ROC curve (0.5 is chance)."""
    balanced_accuracy: float
    """Best balanced accuracy over thresholds."""
    tpr_at_1pct_fpr: float
    """Members found at a 1% false-positive rate."""
    tpr_at_01pct_fpr: float
    """Members found at a 0.1% false-positive rate."""
    auc_ci: tuple[float, float]
    """95% bootstrap interval of the AUC."""
    tpr_at_1pct_fpr_ci: tuple[float, float]
    """95% bootstrap interval of TPR at 1% FPR."""
    tpr_at_01pct_fpr_ci: tuple[float, float]
    """95% bootstrap interval of TPR at 0.1% FPR."""
    train_accuracy: float
    """Target accuracy on the members."""
    test_accuracy: float
    """Target accuracy on the non-members (the gap is the overfitting that leaks)."""
    n_reference: int = 0
    """Reference (shadow) models trained through the target's recipe."""
    variant: str = ""
    """Attack settings worth reporting (``online, per-example variance``)."""
    roc: tuple[RocPoint, ...] = field(default=(), metadata=OMIT_EMPTY)
    """The ROC curve on a log-spaced FPR grid."""

    @property
    def fpr_resolution(self) -> float:
        """The smallest FPR the non-members can resolve (``1 / n_non_members``)."""
        return 1.0 / max(self.n_non_members, 1)


@dataclass(frozen=True)
class AttributeOutcome(Outcome):
    """How much the model's outputs add to inferring a sensitive feature of a record."""

    kind: ClassVar[str] = "attribute"

    feature: str
    """The sensitive feature (name or index)."""
    bins: int
    """Values it is inferred among (quantile bins of a continuous feature)."""
    method: str
    """``black-box`` (a classifier over the outputs) or ``inversion`` (query every value)."""
    n_members: int
    """Training records attacked."""
    n_non_members: int
    """Held-out records attacked (the leakage the model adds about the population)."""
    attack_accuracy: float
    """Attack accuracy on members."""
    baseline_accuracy: float
    """Accuracy on members of the same inference without the model."""
    leakage: float
    """``attack_accuracy - baseline_accuracy``: what the model adds about its training records."""
    leakage_ci: tuple[float, float]
    """95% paired-bootstrap interval of ``leakage``."""
    attack_accuracy_non_members: float
    """Attack accuracy on non-members."""
    baseline_accuracy_non_members: float
    """Baseline accuracy on non-members."""
    chance: float
    """Accuracy of always guessing the most common value."""

    @property
    def leakage_non_members(self) -> float:
        """What the model adds on records it never saw (distributional, not memorised)."""
        return self.attack_accuracy_non_members - self.baseline_accuracy_non_members


@dataclass(frozen=True)
class QueryPoint:
    """The substitute trained on the first ``queries`` answers."""

    queries: int
    """Queries spent on the target."""
    fidelity: float
    """Agreement of the substitute's labels with the target's on held-out data."""
    accuracy: float
    """Substitute accuracy on held-out labelled data."""


@dataclass(frozen=True)
class MonitorScore:
    """A query-stream monitor (PRADA) watching the extraction and benign streams."""

    method: str
    """``prada``."""
    flagged: bool
    """Whether the extraction stream was flagged."""
    queries_to_flag: int | None
    """Queries of the extraction stream before the first flag (None: never)."""
    benign_streams: int
    """Benign streams watched: natural samples (pool and held-out data) in random order, as long
    as the attack's stream where the data allow."""
    false_alarm_rate: float
    """Benign streams flagged."""
    threshold: float
    """The Shapiro-Wilk ``W`` below which a stream is flagged."""


@dataclass(frozen=True)
class ExtractionOutcome(Outcome):
    """A substitute model trained from the target's answers under a query budget."""

    kind: ClassVar[str] = "extraction"

    strategy: str
    """``random``, ``data`` (natural samples) or ``adaptive`` (Jacobian augmentation)."""
    output_mode: str
    """What each answer revealed."""
    budget: int
    """Most queries the attack could spend."""
    queries: int
    """Queries spent (never above ``budget``)."""
    fidelity: float
    """Agreement with the target at the full budget, on held-out data."""
    accuracy: float
    """Substitute accuracy at the full budget."""
    target_accuracy: float
    """Target accuracy on the same held-out data."""
    n_eval: int
    """Held-out points fidelity and accuracy are measured on."""
    curve: tuple[QueryPoint, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Fidelity and accuracy over the queries spent."""
    transfer_rate: float | None = field(default=None, metadata=OMIT_NONE)
    """Adversarial examples crafted on the substitute (PGD) that fool the target."""
    transfer_eps: float | None = field(default=None, metadata=OMIT_NONE)
    """L-inf budget of those examples."""
    monitor: MonitorScore | None = field(default=None, metadata=OMIT_NONE)
    """How a query-stream monitor saw the attack and benign traffic."""


@dataclass(frozen=True)
class ModeRow:
    """One output mode of the same model: what honest users keep, what attackers get."""

    mode: str
    """``logits``, ``probabilities``, ``top1_probability``, ``label_only``, ``rounded-K`` or
    ``top-K``."""
    honest_accuracy: float
    """Accuracy of the top answer for honest users."""
    auc: float
    """Membership AUC against this mode."""
    tpr_at_1pct_fpr: float
    """Membership TPR at 1% FPR."""
    tpr_at_01pct_fpr: float
    """Membership TPR at 0.1% FPR."""
    fidelity: float | None = None
    """Extraction fidelity at the budget (None when not measured)."""


@dataclass(frozen=True)
class OutputModesOutcome(Outcome):
    """The same attacks against every output mode of one model."""

    kind: ClassVar[str] = "output-modes"

    attack: str
    """Membership attack used."""
    budget: int
    """Extraction query budget (0: extraction not measured)."""
    n_members: int
    """Members scored per mode."""
    rows: tuple[ModeRow, ...]
    """One row per mode, most revealing first."""


@dataclass(frozen=True)
class DpTrainingOutcome(Outcome):
    """Differentially private training (DP-SGD) against the same training without it."""

    kind: ClassVar[str] = "dp-training"

    epsilon: float
    """Privacy budget spent (the accountant's epsilon at ``delta``)."""
    delta: float
    """The delta of the guarantee."""
    noise_multiplier: float
    """Gaussian noise relative to the clipping norm."""
    max_grad_norm: float
    """Per-sample gradient clipping norm."""
    attack: str
    """Membership attack used to measure the leakage."""
    accuracy_before: float
    """Test accuracy trained without DP."""
    accuracy_after: float
    """Test accuracy trained with DP-SGD."""
    auc_before: float
    """Membership AUC without DP."""
    auc_after: float
    """Membership AUC with DP-SGD."""
    tpr_before: float
    """Membership TPR at 1% FPR without DP."""
    tpr_after: float
    """Membership TPR at 1% FPR with DP-SGD."""
