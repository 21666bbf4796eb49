"""The input of every report renderer: one assessment run, as stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aisec.records import Finding, Result, Severity

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows about one run, loaded from the results store."""

    run_id: str
    """Identifier of the run in the results store."""
    name: str
    """Assessment name from the config."""
    created: str
    """ISO-8601 UTC time the run started."""
    finished: str | None
    """ISO-8601 UTC time the last unit completed, None while incomplete."""
    aisec_version: str
    """Version of aisec that produced the results."""
    config: dict[str, Any]
    """The validated assessment config (JSON form)."""
    targets: list[dict[str, Any]]
    """Per target: ``target.describe()`` plus ``data`` (``Dataset.describe()``)."""
    results: list[Result]
    """Every unit's result, in plan order, with artefacts."""
    findings: list[Finding]
    """Findings from every result, most severe first."""
    units_total: int
    """Units in the plan."""
    units_done: int
    """Units with a stored result."""
    fail_on: Severity = Severity.HIGH
    """Threshold that makes the run fail in CI."""
    threat_model: dict[str, Any] | None = None
    """``ThreatModel.to_dict()`` when the config names a profile."""
    risk_register: dict[str, Any] | None = None
    """``RiskRegister.to_dict()`` when a threat model exists."""
    ai_act: dict[str, Any] | None = None
    """Art. 15 evidence, ``AiActEvidence.to_dict()``, when a threat model exists."""
    extra_html: str = ""
    """Pre-rendered HTML sections (threat model, register, AI Act) inserted after the summary."""
    extra_markdown: str = ""
    """Pre-rendered Markdown for the same sections."""
    warnings: list[str] = field(default_factory=list)
    """Run-level warnings (e.g. incomplete run, skipped tests)."""
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    """Optional clean inputs per target name, in the order the tests saw them; lets the HTML
    report show adversarial examples next to their originals."""

    @property
    def complete(self) -> bool:
        """True when every planned unit has a result."""
        return self.units_done >= self.units_total

    @property
    def max_severity(self) -> Severity | None:
        """Most severe finding, if any."""
        return max((f.severity for f in self.findings), default=None, key=lambda s: s.rank)

    @property
    def inconclusive(self) -> bool:
        """True when no unit produced evidence (every one was skipped or failed) and no
        finding fails the run: there is nothing to pass on."""
        from aisec.records import Status

        return not self.failed and not any(r.status is Status.OK for r in self.results)

    @property
    def failed(self) -> bool:
        """True when a finding is at or above ``fail_on``."""
        worst = self.max_severity
        return worst is not None and worst >= self.fail_on
