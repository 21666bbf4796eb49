"""Outcome records of the evasion defences: the trade-off table of ``defence.evasion``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from aisec.records.evasion import CurvePoint
from aisec.records.outcome import OMIT_EMPTY, OMIT_NONE, Outcome


@dataclass(frozen=True)
class CertifiedPoint:
    """Certified accuracy of a smoothed classifier at one L2 radius."""

    radius: float
    """L2 radius."""
    accuracy: float
    """Share of the evaluated points certified correct at that radius or beyond."""


@dataclass(frozen=True)
class DefenceRow:
    """One defence (or the undefended model) measured the same way as the others."""

    defence: str
    """``none``, ``pgd-at``, ``trades``, ``noise``, ``bit-depth``, ``jpeg``, ``median`` or
    ``randomization``."""
    kind: str
    """``none``, ``training`` or ``preprocessing``."""
    settings: str
    """Its settings, e.g. ``pgd-at linf 0.1`` or ``bit-depth (bits 3)``."""
    clean_accuracy: float
    """Accuracy on the evaluated points without attack."""
    robust_accuracy: float
    """Accuracy under the strongest evaluation run (per point worst case), at the budget."""
    attack: str
    """The evaluation behind ``robust_accuracy`` (e.g. ``BPDA + ensemble (fast)``)."""
    inference_ms: float
    """Milliseconds per prediction of one input, measured on the evaluated points."""
    plain_robust_accuracy: float | None = field(default=None, metadata=OMIT_NONE)
    """Pre-processing: accuracy under PGD with the deployed gradient (what a non-adaptive
    evaluation would report)."""
    masking_flags: tuple[str, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Pre-processing: the gradient-masking sanity rules that failed on the deployed model."""
    train_seconds: float | None = field(default=None, metadata=OMIT_NONE)
    """Training: wall time of the hardening run (when it ran; cached models keep it)."""
    certified_accuracy: float | None = field(default=None, metadata=OMIT_NONE)
    """``noise``: certified accuracy of the smoothed model at the outcome's ``radius``."""
    certified_curve: tuple[CertifiedPoint, ...] = field(default=(), metadata=OMIT_EMPTY)
    """``noise``: certified accuracy over the L2 radius."""
    certify_ms: float | None = field(default=None, metadata=OMIT_NONE)
    """``noise``: milliseconds to certify one input."""
    curve: tuple[CurvePoint, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Robust accuracy at the test's other budgets (``curve``), by the same evaluation."""


@dataclass(frozen=True)
class DefencesOutcome(Outcome):
    """Defences against evasion side by side with the undefended model (first row)."""

    kind: ClassVar[str] = "defences"

    eps: float
    """Budget of the evaluation (and, by default, of adversarial training)."""
    norm: str
    """Norm of the budget."""
    evaluation: str
    """The ensemble preset the robust accuracies come from."""
    n: int
    """Points evaluated."""
    rows: tuple[DefenceRow, ...]
    """The undefended model first, then one row per defence."""
    best: str = ""
    """The defence with the highest robust accuracy within ``max_accuracy_cost`` of the
    undefended clean accuracy (empty: none qualifies)."""
    max_accuracy_cost: float = 0.05
    """Clean accuracy a defence may cost and still be recommended."""
    radius: float = 0.0
    """L2 radius of the rows' ``certified_accuracy``."""
    sigma: float = 0.0
    """Noise of randomized smoothing (0: not certified)."""
    skipped: tuple[str, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Defences not measured, with the reason."""

    @property
    def undefended(self) -> DefenceRow:
        """The first row."""
        return self.rows[0]
