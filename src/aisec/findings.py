"""Declarative finding rules: thresholds as data, one rule shape for every family.

A :class:`FindingRule` says which value of an outcome it measures, the thresholds that map
that value to a severity, how to title the finding, what evidence it carries and what to do.
Tests list their rules in ``rules``; the base class applies them once, inside ``run()``, and
the findings are stored with the result. Changing a threshold later changes new runs only.

Rules are documented in docs/findings.md under their ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aisec.records import Finding, Result, Severity, severity_at
from aisec.records.outcome import Outcome

OutcomeT = TypeVar("OutcomeT", bound=Outcome)


def _itself(outcome: Any) -> Iterable[Any]:
    return (outcome,)


@dataclass(frozen=True)
class Subject:
    """Who the finding is about: the test that measured and the target it measured."""

    test_name: str
    """Human-readable name of the test, e.g. ``PGD``."""
    test_id: str
    """Registered id of the test."""
    target: str
    """Name of the target."""


@dataclass
class FindingRule(Generic[OutcomeT]):
    """One documented rule turning an outcome (or each item of it) into findings.

    ``each`` picks the items the rule looks at (by default the outcome itself). For each item,
    ``measure`` gives the value compared with ``thresholds``; None means the rule does not
    apply to that item. ``title``, ``evidence`` and ``key`` describe the finding; ``key`` makes
    its id unique among the findings of one result.
    """

    rule: str | Callable[[Any], str]
    """Documented rule id, e.g. ``EVA-001`` (or, for findings a scanner reports, the item's)."""
    outcome: type[OutcomeT]
    """The outcome kind the rule reads."""
    measure: Callable[[Any], float | None]
    """The value the thresholds apply to."""
    thresholds: Mapping[Severity, float]
    """Lowest value of each severity, e.g. ``{HIGH: 0.5, MEDIUM: 0.2, LOW: 0.05}``."""
    title: Callable[[Any, Subject], str]
    """One-line summary of the item, for the test and target in ``Subject``."""
    evidence: Callable[[Any], Mapping[str, Any]]
    """Measured values that justify the finding."""
    recommendation: str | Callable[[Any], str]
    """What to do when the finding is medium or worse."""
    recommendation_below: str = "Keep monitoring; re-assess after changes with stronger settings."
    """What to do otherwise."""
    keep_own_severity: bool = False
    """The item carries a severity of its own (a scanner's finding): ``measure`` returns its
    rank and the thresholds map ranks back to severities; the item's advice applies at every
    severity."""
    each: Callable[[OutcomeT], Iterable[Any]] = _itself
    """The items the rule is applied to."""
    key: Callable[[Any], str] = field(default=lambda item: "")
    """Distinguishes the findings of one result in their ids."""
    threats: tuple[str, ...] | Callable[[Any], tuple[str, ...]] = ()
    """Catalogue threats the finding evidences (default: the test's)."""
    location: Callable[[Any], str] = field(default=lambda item: "")
    """Where in the target the finding is, if anywhere."""

    def severity(self, value: float) -> Severity:
        """The severity ``value`` reaches under the thresholds."""
        return severity_at(value, self.thresholds)

    def apply(
        self, outcome: Outcome, result: Result, subject: Subject, test_threats: tuple[str, ...]
    ) -> list[Finding]:
        """The findings of this rule for ``outcome`` (none when it is of another kind)."""
        if not isinstance(outcome, self.outcome):
            return []
        out = []
        for item in self.each(outcome):
            value = self.measure(item)
            if value is None:
                continue
            severity = self.severity(value)
            threats = self.threats(item) if callable(self.threats) else self.threats
            rule = self.rule(item) if callable(self.rule) else self.rule
            advice = (
                self.recommendation(item) if callable(self.recommendation) else self.recommendation
            )
            key = self.key(item)
            out.append(
                Finding(
                    id=":".join(p for p in (rule, subject.target, subject.test_id, key) if p),
                    rule=rule,
                    title=self.title(item, subject),
                    severity=severity,
                    target=subject.target,
                    evidence=dict(self.evidence(item)),
                    test_id=subject.test_id,
                    threats=threats or test_threats,
                    recommendation=(
                        advice
                        if severity >= Severity.MEDIUM or self.keep_own_severity
                        else self.recommendation_below
                    ),
                    location=self.location(item),
                    unit=result.unit,
                )
            )
        return out


SEVERITY_RANKS: dict[Severity, float] = {s: float(s.rank) for s in Severity}
"""Thresholds that map a severity's rank back to the severity (for ``keep_own_severity``)."""
