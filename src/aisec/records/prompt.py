"""Outcome records of the prompt family: attack success per defence and transform, corrected
for detector error, with the replies that never reached a verdict counted apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from aisec.records.outcome import OMIT_EMPTY, Outcome


@dataclass(frozen=True)
class DetectorRow:
    """A detector's error, measured on labelled replies shipped with aisec."""

    detector: str
    kind: str
    """``exact`` or ``pattern``."""
    meaning: str
    """What a positive verdict means."""
    positives: int
    """Labelled replies on which the attack succeeded."""
    negatives: int
    precision: float
    recall: float
    specificity: float


@dataclass(frozen=True)
class ProbeCell:
    """The probes of one defence under one transform (``all``: every transform together)."""

    defence: str
    transform: str
    sent: int
    """Requests sent."""
    scored: int
    """Replies with text a detector scored (the denominator of the rates)."""
    errored: int
    """Queries that failed after retries (never counted as failed attacks)."""
    blocked: int
    """Queries refused by the serving layer (content filter), not by the model."""
    empty: int
    """Empty answers."""
    filtered: int
    """Requests the application's input filter refused without asking the model."""
    hits: int
    """Scored replies the detector flagged as a successful attack."""
    observed: float
    """``hits / scored``."""
    corrected: float
    """The success rate corrected for the detector's error (Rogan-Gladen)."""
    low: float
    """95% interval of ``corrected`` (parametric bootstrap)."""
    high: float

    @property
    def unscored(self) -> int:
        """Requests that got no scorable reply (errored, blocked or empty)."""
        return self.errored + self.blocked + self.empty


@dataclass(frozen=True)
class Transcript:
    """A successful attack, as sent and answered."""

    case: str
    """``template/transform/n``."""
    defence: str
    channel: str
    """Where the payload arrived: ``user``, ``document`` or ``tool``."""
    request: str
    """The user's message."""
    planted: str
    """The planted document or tool output (empty for ``user``)."""
    reply: str


@dataclass(frozen=True)
class UtilityRow:
    """What a defence costs on benign requests."""

    defence: str
    n: int
    task_accuracy: float
    """Share of benign requests answered with the expected content."""
    false_refusals: float
    """Share refused, by the model or by the input filter."""


@dataclass(frozen=True)
class PromptOutcome(Outcome):
    """One probe family against an LLM application, per defence and transform."""

    kind: ClassVar[str] = "prompt"

    family: str
    """The probe family (test id)."""
    detector: str
    """The detector scoring this family."""
    cells: tuple[ProbeCell, ...]
    """Per defence, one row per transform and an ``all`` row; undefended first."""
    detectors: tuple[DetectorRow, ...]
    """Error of the detectors used, from the labelled replies."""
    transcripts: tuple[Transcript, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Successful attacks (up to the test's ``transcripts`` per defence)."""
    utility: tuple[UtilityRow, ...] = field(default=(), metadata=OMIT_EMPTY)
    """Benign-request cost of each defence (when measured)."""
    best: str = ""
    """The defence with the lowest corrected success whose task accuracy is within
    ``max_utility_cost`` of the undefended application's (empty: none qualifies)."""
    max_utility_cost: float = 0.1

    def overall(self, defence: str = "none") -> ProbeCell:
        """The ``all`` row of ``defence``."""
        return next(c for c in self.cells if c.defence == defence and c.transform == "all")

    @property
    def defences(self) -> tuple[str, ...]:
        """Defences measured, undefended first."""
        return tuple(dict.fromkeys(c.defence for c in self.cells))


@dataclass(frozen=True)
class SuffixOutcome(Outcome):
    """An adversarial suffix (GCG) searched on a local model for one goal and target answer."""

    kind: ClassVar[str] = "prompt-suffix"

    goal: str
    """The user's request the suffix is appended to."""
    target: str
    """The answer prefix the search drives the model towards (e.g. ``Sure, here is``)."""
    suffix: str
    """The best suffix found."""
    success: bool
    """The greedy answer to the request plus suffix starts with ``target``."""
    answer: str
    """That greedy answer (first tokens)."""
    initial_loss: float
    """Cross-entropy of ``target`` with the initial suffix."""
    final_loss: float
    """Cross-entropy of ``target`` with the best suffix."""
    loss_history: tuple[float, ...]
    """Best loss after each step."""
    steps: int
    """Steps run (fewer than the budget when the target was reached)."""
    forward_passes: int
    """Candidate sequences evaluated plus one gradient pass per step."""
