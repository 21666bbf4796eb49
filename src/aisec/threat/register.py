"""The risk register: residual risk per threat from measured evidence (docs/threat-modelling.md).

Rules, per applicable threat of the threat model:

* **evidence**: results of tests that measure the threat (status ``ok``), and findings whose
  ``threats`` name it (or, when a finding names no threat, that came from such a test).
  Skipped and failed units are listed but are not evidence.
* **tested-failed**: a finding of severity medium or above. Residual likelihood =
  max(inherent likelihood, level of the worst finding: medium 3, high 4, critical 5).
* **tested-passed**: at least one ok result and no finding at medium or above (findings of
  units that did not run, e.g. run errors, are listed but prove nothing). Residual likelihood =
  inherent likelihood - 1 for one passing test, - 2 for two or more distinct tests (at least 1).
* **gap**: no evidence. Residual likelihood = inherent likelihood; the threat stays listed.
* **stand-in-only**: evidence exists, but only from stand-in targets (:mod:`aisec.threat.
  evidence`): it is listed, labelled with its target, and residual likelihood = inherent
  likelihood. Evidence from a stand-in never lowers (or raises) the risk of the system.

Impact is not changed by tests (defences change it); residual risk = residual likelihood x
impact. Defences and controls are ranked by the sum of residual risk of the threats they address.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aisec.records import Finding, Result, Severity, Status
from aisec.report.views import view_for
from aisec.threat.evidence import stand_in_targets
from aisec.threat.model import ThreatModel, ThreatRecord
from aisec.threat.rules import LEVELS, clamp, risk_level

SEVERITY_LIKELIHOOD = {
    Severity.INFO: 1,
    Severity.LOW: 2,
    Severity.MEDIUM: 3,
    Severity.HIGH: 4,
    Severity.CRITICAL: 5,
}
FAILING = Severity.MEDIUM


def threat_test_ids(record: ThreatRecord) -> set[str]:
    """Test ids whose results count as evidence for a threat."""
    return {*record.tests, *record.planned_tests, *record.entry.tests, *record.entry.planned_tests}


def measures(test_id: str, threat_id: str) -> bool:
    """Whether the registered test ``test_id`` declares that it measures ``threat_id``.

    Only such a test's results count as evidence that a threat was tested: a scan of model
    files says nothing about poisoned training data, however the catalogue groups them.
    """
    from aisec.errors import AisecError
    from aisec.registry import get_test

    try:
        return threat_id in get_test(test_id).threats
    except AisecError:  # a test this installation does not have
        return False


def findings_for(record: ThreatRecord, findings: Iterable[Finding]) -> list[Finding]:
    """Findings that evidence a threat: they name it, or a test that measures it made them."""
    tests = threat_test_ids(record)
    return [
        f
        for f in findings
        if record.id in f.threats
        or (f.test_id in tests and measures(f.test_id, record.id))
        or (not f.threats and f.test_id in tests)
    ]


def results_for(record: ThreatRecord, results: Iterable[Result]) -> list[Result]:
    """Results of tests that measure a threat (any status)."""
    tests = threat_test_ids(record)
    return [r for r in results if r.test_id in tests and measures(r.test_id, record.id)]


def result_ref(result: Result) -> str:
    """Reference of a result: ``test_id@target#unit`` (the unit key tells two units of one
    test on one target apart; results without one are ``test_id@target``)."""
    base = f"{result.test_id}@{result.target}"
    return f"{base}#{result.unit[:8]}" if result.unit else base


@dataclass
class RegisterEntry:
    """One threat in the register, with its residual risk and the evidence behind it."""

    threat: ThreatRecord
    status: str
    """tested-failed, tested-passed, stand-in-only or gap."""
    residual_likelihood: int
    residual_impact: int
    basis: str
    """How the residual likelihood was obtained, in words."""
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """Findings and results used (kind, id, test_id, target, severity or metrics)."""
    not_run: list[dict[str, Any]] = field(default_factory=list)
    """Skipped or failed units of tests that measure the threat."""

    @property
    def residual_risk(self) -> int:
        """Residual likelihood x impact."""
        return self.residual_likelihood * self.residual_impact

    @property
    def residual_level(self) -> str:
        """Level of the residual risk."""
        return risk_level(self.residual_risk)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        t = self.threat
        return {
            "id": t.id,
            "name": t.name,
            "status": self.status,
            "inherent": {
                "likelihood": t.likelihood,
                "impact": t.impact,
                "risk": t.risk,
                "level": t.risk_level,
            },
            "residual": {
                "likelihood": self.residual_likelihood,
                "likelihood_label": LEVELS[self.residual_likelihood],
                "impact": self.residual_impact,
                "risk": self.residual_risk,
                "level": self.residual_level,
            },
            "basis": self.basis,
            "evidence": self.evidence,
            "not_run": self.not_run,
            "tests": sorted({e["test_id"] for e in self.evidence if e.get("test_id")}),
        }


@dataclass
class RiskRegister:
    """Residual risk of every applicable threat, the gaps and ranked recommendations."""

    entries: list[RegisterEntry]
    """Applicable threats, highest residual risk first."""
    recommendations: list[dict[str, Any]]
    """Defences and controls ranked by the residual risk they address."""
    not_applicable: list[str] = field(default_factory=list)
    """Catalogue threats the profile ruled out."""
    stand_ins: dict[str, str] = field(default_factory=dict)
    """Stand-in target name -> why its evidence does not speak for the system."""

    @property
    def gaps(self) -> list[RegisterEntry]:
        """Applicable threats with no evidence on the system itself (stand-in evidence only
        included)."""
        return [e for e in self.entries if e.status in ("gap", "stand-in-only")]

    def get(self, threat_id: str) -> RegisterEntry:
        """The entry of one threat id."""
        for e in self.entries:
            if e.threat.id == threat_id:
                return e
        raise KeyError(threat_id)

    def heatmap(self) -> list[list[list[str]]]:
        """5x5 grid ``[impact-1][likelihood-1]`` -> threat ids at that residual position."""
        grid: list[list[list[str]]] = [[[] for _ in range(5)] for _ in range(5)]
        for e in self.entries:
            grid[e.residual_impact - 1][e.residual_likelihood - 1].append(e.threat.id)
        return grid

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the ``risk_register`` key of ``report.json``."""
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.status] = counts.get(e.status, 0) + 1
        return {
            "summary": {
                "threats": len(self.entries),
                "tested_failed": counts.get("tested-failed", 0),
                "tested_passed": counts.get("tested-passed", 0),
                "stand_in_only": counts.get("stand-in-only", 0),
                "gaps": counts.get("gap", 0),
            },
            "stand_in_targets": dict(self.stand_ins),
            "entries": [e.to_dict() for e in self.entries],
            "gaps": [e.threat.id for e in self.gaps],
            "heatmap": self.heatmap(),
            "recommendations": self.recommendations,
            "not_applicable": list(self.not_applicable),
        }


def _entry(
    record: ThreatRecord,
    results: list[Result],
    findings: list[Finding],
    stand_ins: dict[str, str] | None = None,
) -> RegisterEntry:
    stand_ins = stand_ins or {}
    all_findings = findings_for(record, findings)
    all_runs = results_for(record, results)
    mine = [f for f in all_findings if f.target not in stand_ins]
    runs = [r for r in all_runs if r.target not in stand_ins]
    ok_runs = [r for r in runs if r.status is Status.OK]
    evidence: list[dict[str, Any]] = [
        {
            "kind": "finding",
            "id": f.id,
            "rule": f.rule,
            "test_id": f.test_id,
            "target": f.target,
            "severity": f.severity.value,
            "title": f.title,
            "unit": f.unit,
            "stand_in": f.target in stand_ins,
        }
        for f in sorted(all_findings, key=lambda f: -f.severity.rank)
    ]
    evidence += [
        {
            "kind": "result",
            "id": result_ref(r),
            "test_id": r.test_id,
            "target": r.target,
            "metrics": view_for(r).evidence(r),
            "stand_in": r.target in stand_ins,
        }
        for r in all_runs
        if r.status is Status.OK
    ]
    not_run = [
        {"id": result_ref(r), "test_id": r.test_id, "status": r.status.value, "message": r.message}
        for r in runs
        if r.status is not Status.OK
    ]
    failing = [f for f in mine if f.severity >= FAILING]
    L, impact = record.likelihood, record.impact
    if failing:
        worst = max(failing, key=lambda f: f.severity.rank)
        measured = SEVERITY_LIKELIHOOD[worst.severity]
        residual = max(L, measured)
        basis = (
            f"{len(failing)} finding(s) at medium or above; "
            f"worst {worst.severity.value} ({worst.rule}) "
            f"sets likelihood to at least {measured}"
        )
        return RegisterEntry(record, "tested-failed", residual, impact, basis, evidence, not_run)
    if ok_runs:
        distinct = {r.test_id for r in ok_runs}
        step = min(2, max(1, len(distinct)))
        residual = clamp(L - step)
        basis = (
            f"{len(distinct)} distinct test(s) passed with no finding at medium or above: "
            f"likelihood -{step}"
        )
        return RegisterEntry(record, "tested-passed", residual, impact, basis, evidence, not_run)
    proxies = sorted({e["target"] for e in evidence if e["stand_in"]})
    if proxies:
        basis = (
            "evidence only from stand-in target(s) " + ", ".join(proxies) + ": it does not "
            "describe this system, so residual risk equals inherent risk"
        )
        return RegisterEntry(record, "stand-in-only", L, impact, basis, evidence, not_run)
    basis = "untested: residual risk equals inherent risk"
    if not_run:
        basis += f" ({len(not_run)} unit(s) skipped or failed)"
    return RegisterEntry(record, "gap", L, impact, basis, evidence, not_run)


def _recommendations(entries: list[RegisterEntry]) -> list[dict[str, Any]]:
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for e in entries:
        for kind, items in (
            ("defence", e.threat.entry.defences),
            ("control", e.threat.entry.controls),
        ):
            for m in items:
                row = table.setdefault(
                    (kind, m.name),
                    {
                        "name": m.name,
                        "kind": kind,
                        "atlas": m.atlas,
                        "threats": [],
                        "risk_addressed": 0,
                        "max_risk": 0,
                    },
                )
                row["threats"].append(e.threat.id)
                row["risk_addressed"] += e.residual_risk
                row["max_risk"] = max(row["max_risk"], e.residual_risk)
    ranked = sorted(
        table.values(), key=lambda r: (-r["risk_addressed"], -r["max_risk"], r["kind"], r["name"])
    )
    for i, row in enumerate(ranked, 1):
        row["rank"] = i
    return ranked


def build_risk_register(
    tm: ThreatModel,
    results: Iterable[Result] = (),
    findings: Iterable[Finding] = (),
    targets: Iterable[Any] = (),
) -> RiskRegister:
    """Residual risk per applicable threat from measured evidence.

    Args:
        tm: the threat model (:func:`aisec.threat.derive_threats`).
        results: every unit's :class:`~aisec.records.Result` of the run.
        findings: every :class:`~aisec.records.Finding` of the run.
        targets: the run's target configs; stand-ins among them
            (:func:`aisec.threat.evidence.stand_in_targets`) do not change residual risk.

    Returns:
        A :class:`RiskRegister`; untested applicable threats are listed as gaps, never dropped.
    """
    results, findings = list(results), list(findings)
    stand_ins = stand_in_targets(tm.profile, targets)
    entries = [_entry(r, results, findings, stand_ins) for r in tm.applicable]
    entries.sort(key=lambda e: (-e.residual_risk, -e.threat.risk, e.threat.id))
    return RiskRegister(
        entries=entries,
        recommendations=_recommendations(entries),
        not_applicable=[t.id for t in tm.threats if not t.applicable],
        stand_ins=stand_ins,
    )
