"""Evidence arranged along EU AI Act Article 15 (accuracy, robustness and cybersecurity).

Per clause (docs/threat-modelling.md):

* ``15(3)`` (declared accuracy): every ok result reporting ``clean_accuracy`` is evidence;
  tested-failed when one is below the profile's ``accuracy_target``, tested-passed when all
  reach it, not-tested without measurements or without a declared target.
* clauses evidenced by threats: the applicable threats of the threat model whose catalogue
  entry names the clause; tested-failed when any is tested-failed in the risk register,
  tested-passed only when every one of them passed, not-tested otherwise (the note names the
  untested threats and those that passed).
* ``15(1)`` (overall): tested-failed when any other clause failed, tested-passed only when
  every other clause passed, not-tested otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aisec.records import Finding, Result, Status
from aisec.taxonomy import load_catalogue
from aisec.threat.model import ThreatModel
from aisec.threat.register import RiskRegister, build_risk_register, result_ref

PASSED, FAILED, NOT_TESTED = "tested-passed", "tested-failed", "not-tested"


@dataclass
class ClauseEvidence:
    """Status of one Art. 15 clause and the evidence behind it."""

    id: str
    title: str
    summary: str
    status: str
    threats: list[str]
    findings: list[str]
    tests: list[str]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
            "status": self.status,
            "threats": self.threats,
            "evidence": {"findings": self.findings, "tests": self.tests},
            "note": self.note,
        }


@dataclass
class AiActEvidence:
    """Art. 15 evidence of one assessment."""

    regulation: str
    risk_class: str
    clauses: list[ClauseEvidence]

    def get(self, clause_id: str) -> ClauseEvidence:
        """The evidence of one clause id (e.g. ``15(5)-adversarial-examples``)."""
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise KeyError(clause_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the ``ai_act`` key of ``report.json``."""
        return {
            "regulation": self.regulation,
            "article": "15",
            "risk_class": self.risk_class,
            "clauses": [c.to_dict() for c in self.clauses],
        }


def _accuracy_clause(
    tm: ThreatModel, results: list[Result], stand_ins: dict[str, str]
) -> tuple[str, list[str], list[str], str]:
    measured = [
        r
        for r in results
        if r.status is Status.OK and "clean_accuracy" in r.metrics and r.target not in stand_ins
    ]
    refs = sorted({result_ref(r) for r in measured})
    target = tm.profile.accuracy_target
    if not measured:
        return NOT_TESTED, [], refs, "no result reports clean accuracy"
    values = {result_ref(r): float(r.metrics["clean_accuracy"]) for r in measured}
    shown = ", ".join(f"{k} {v:.1%}" for k, v in sorted(values.items()))
    if target is None:
        return (
            NOT_TESTED,
            [],
            refs,
            f"measured {shown}; declare accuracy_target in the profile to judge it",
        )
    below = [k for k, v in values.items() if v < target]
    if below:
        return (
            FAILED,
            [],
            refs,
            f"below the declared {target:.1%}: {', '.join(sorted(below))} (measured {shown})",
        )
    return PASSED, [], refs, f"all at or above the declared {target:.1%} (measured {shown})"


def ai_act_evidence(
    tm: ThreatModel,
    results: Iterable[Result] = (),
    findings: Iterable[Finding] = (),
    register: RiskRegister | None = None,
) -> AiActEvidence:
    """Status of each Art. 15 clause (tested-passed, tested-failed, not-tested) with evidence.

    Args:
        tm: the threat model.
        results: every unit's result of the run.
        findings: every finding of the run.
        register: the risk register, when already built (it is rebuilt otherwise).

    Returns:
        :class:`AiActEvidence`; evidence references are finding ids and ``test_id@target``.
    """
    results, findings = list(results), list(findings)
    register = register or build_risk_register(tm, results, findings)
    catalogue = load_catalogue()
    by_threat = {e.threat.id: e for e in register.entries}
    clauses: list[ClauseEvidence] = []
    for clause in catalogue.ai_act_clauses:
        if clause.id == "15(1)":
            continue
        if clause.id == "15(3)":
            status, f_ids, t_ids, note = _accuracy_clause(tm, results, register.stand_ins)
            clauses.append(
                ClauseEvidence(
                    clause.id, clause.title, clause.summary, status, [], f_ids, t_ids, note
                )
            )
            continue
        threats = [t.id for t in tm.applicable if clause.id in t.entry.ai_act]
        entries = [by_threat[t] for t in threats]
        own = [e for x in entries for e in x.evidence if not e.get("stand_in")]
        f_ids = sorted({e["id"] for e in own if e["kind"] == "finding"})
        t_ids = sorted({e["id"] for e in own if e["kind"] == "result"})
        statuses = {x.status for x in entries}
        untested = [x.threat.id for x in entries if x.status in ("gap", "stand-in-only")]
        if not threats:
            status, note = NOT_TESTED, "no applicable threat of the profile maps to this clause"
        elif FAILED in statuses:
            status = FAILED
            note = "failed: " + ", ".join(x.threat.id for x in entries if x.status == FAILED)
        elif untested:
            passed = [x.threat.id for x in entries if x.status == PASSED]
            status = NOT_TESTED
            note = "untested threats: " + ", ".join(untested)
            if passed:
                note += "; passed: " + ", ".join(passed)
        else:
            status, note = PASSED, "every applicable threat tested"
        clauses.append(
            ClauseEvidence(
                clause.id, clause.title, clause.summary, status, threats, f_ids, t_ids, note
            )
        )
    overall = catalogue.clause("15(1)")
    statuses = [c.status for c in clauses]
    if FAILED in statuses:
        status = FAILED
    elif statuses and all(s == PASSED for s in statuses):
        status = PASSED
    else:
        status = NOT_TESTED
    not_tested = [c.id for c in clauses if c.status == NOT_TESTED]
    note = (
        f"clauses not tested: {', '.join(not_tested)}"
        if not_tested
        else "every clause has evidence"
    )
    clauses.insert(
        0,
        ClauseEvidence(
            overall.id,
            overall.title,
            overall.summary,
            status,
            [t.id for t in tm.applicable],
            sorted({f for c in clauses for f in c.findings}),
            sorted({t for c in clauses for t in c.tests}),
            note,
        ),
    )
    regulation = "Regulation (EU) 2024/1689 (Artificial Intelligence Act), Article 15"
    return AiActEvidence(
        regulation=regulation, risk_class=tm.profile.ai_act_risk_class, clauses=clauses
    )
