"""What the threat sections show, as plain values shared by the HTML and Markdown renderers.

Nothing here produces markup: the functions pick, order and word the facts of a threat model,
its risk register and its EU AI Act evidence; :mod:`aisec.report.threat_sections` and
:mod:`aisec.report.threat_markdown` lay them out.
"""

from __future__ import annotations

import re
from typing import Any

from aisec.threat.ai_act import AiActEvidence, ai_act_evidence
from aisec.threat.model import ThreatModel, ThreatRecord
from aisec.threat.plan import Plan
from aisec.threat.register import RiskRegister, build_risk_register

LEVEL_COLOURS: dict[str, str] = {
    "none": "#f4f4f4",
    "low": "#d5f0d5",
    "medium": "#fdf0c2",
    "high": "#f9c99b",
    "critical": "#f19a9a",
}
"""Background colour of each risk level (badges and heat-map cells)."""

STATUS_COLOURS: dict[str, str] = {
    "tested-passed": "#d5f0d5",
    "tested-failed": "#f19a9a",
    "not-tested": "#e6e6e6",
    "gap": "#e6e6e6",
    "stand-in-only": "#e6e6e6",
}
"""Background colour of each register or Art. 15 clause status."""

CROSSWALK_HEAD: tuple[str, ...] = (
    "NIST AI 100-2 E2025",
    "MITRE ATLAS 5.6.0",
    "OWASP ML 2023",
    "OWASP LLM 2025",
    "AI Act Art. 15",
)
"""Column headings of the taxonomy crosswalk, in the order of :func:`crosswalk_cells`."""

MAX_RECOMMENDATIONS = 15
"""Recommended defences and controls shown, highest risk addressed first."""

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def slug(text: str) -> str:
    """``text`` as a lower-case anchor id fragment (letters, digits, ``_`` and ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower()


def with_defaults(
    tm: ThreatModel, register: RiskRegister | None, ai: AiActEvidence | None
) -> tuple[RiskRegister, AiActEvidence]:
    """``register`` and ``ai``, or those of a run without evidence (every threat a gap)."""
    register = register or build_risk_register(tm)
    ai = ai or ai_act_evidence(tm, register=register)
    return register, ai


def profile_facts(tm: ThreatModel) -> list[tuple[str, str]]:
    """The profile's facts as (label, value) rows."""
    p = tm.profile
    return [
        ("Technology", p.technology),
        ("Task / modality", f"{p.task} / {p.modality}"),
        ("Data sources", ", ".join(p.data_sources)),
        ("Model provenance", p.provenance),
        ("Exposure", ", ".join(p.exposure)),
        ("Outputs reveal", ", ".join(p.outputs)),
        ("Model hosting", p.model_hosting),
        ("Tools", ", ".join(tool_text(t) for t in p.tools) or "none"),
        ("Biometric check", p.biometric),
        ("Model value", p.value + ("" if p.model_value else " (assumed)")),
        ("Training data", p.training_data_sensitivity),
        ("Criticality", p.criticality),
        ("AI Act risk class", p.ai_act_risk_class),
    ]


def tool_text(tool: Any) -> str:
    """A tool with what it can do: ``email (acts)``, ``web (reads untrusted)``."""
    if not tool.described:
        return f"{tool.name} (undescribed: assumed to read untrusted content and act)"
    kinds = [
        k
        for k, on in (
            ("reads untrusted", tool.reads_untrusted),
            ("acts", tool.acts),
            ("third-party", tool.third_party),
        )
        if on
    ]
    return (
        f"{tool.name} ({', '.join(kinds)})" if kinds else f"{tool.name} (reads trusted data only)"
    )


def paths_text(t: ThreatRecord) -> str:
    """The threat's attack paths by kind: ``access: AML.T0040; preparation: ...``."""
    parts = []
    for kind in ("access", "preparation", "consequence"):
        ids = [p.id for p in t.attack_paths if p.path.kind == kind]
        if ids:
            parts.append(f"{kind}: {', '.join(ids)}")
    return "; ".join(parts) or "-"


def evidence_label(ev: dict[str, Any]) -> str:
    """An evidence reference, labelled ``(stand-in)`` when it came from a stand-in target."""
    return f"{ev['id']} (stand-in)" if ev.get("stand_in") else str(ev["id"])


def stand_in_text(register: RiskRegister) -> str:
    """Which targets only stand in for the system, and why (empty: none)."""
    return "; ".join(register.stand_ins.values())


def params_text(params: dict[str, Any]) -> str:
    """Test parameters as ``k=v, ...`` (``defaults`` when there are none)."""
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def tests_text(t: ThreatRecord) -> str:
    """The aisec tests that measure ``t``, or ``none yet``."""
    return ", ".join(t.tests) or "none yet"


def planned_text(plan: Plan) -> str:
    """Planned (not yet available) tests with the threats they will measure, or ``none``."""
    return ", ".join(f"{k} ({', '.join(v)})" for k, v in sorted(plan.planned.items())) or "none"


def unavailable_text(plan: Plan) -> str:
    """Built-in tests this installation cannot run, with what installs them (empty: none)."""
    hints = sorted(set(plan.install_hints.values()))
    names = ", ".join(sorted(plan.unavailable))
    return f"{names} ({'; '.join(hints)})" if names else ""


def crosswalk_cells(t: ThreatRecord) -> list[str]:
    """The framework references of ``t``, one cell per column of :data:`CROSSWALK_HEAD`."""
    e = t.entry
    return [
        ", ".join(f"{r.id} {r.title}" for r in e.refs("nist")) or "-",
        ", ".join(f"{r.id} {r.title}" for r in e.refs("atlas")) or "-",
        ", ".join(f"{r.id} {r.title}" for r in e.refs("owasp-ml")) or "-",
        ", ".join(f"{r.id} {r.title}" for r in e.refs("owasp-llm")) or "-",
        ", ".join(e.ai_act),
    ]


def findings(register: RiskRegister) -> list[tuple[dict[str, Any], list[ThreatRecord]]]:
    """Each finding of the register once, with the threats it evidences, worst first."""
    seen: dict[str, tuple[dict[str, Any], list[ThreatRecord]]] = {}
    for entry in register.entries:
        for ev in entry.evidence:
            if ev["kind"] == "finding":
                seen.setdefault(ev["id"], (ev, []))[1].append(entry.threat)
    return sorted(
        seen.values(), key=lambda x: (_SEVERITY_ORDER.get(x[0]["severity"], 5), x[0]["id"])
    )


def gaps_text(register: RiskRegister) -> str:
    """Ids of the untested threats, or ``none``."""
    return ", ".join(e.threat.id for e in register.gaps) or "none"


def recommendations(register: RiskRegister) -> list[dict[str, Any]]:
    """The recommended defences and controls shown in the report."""
    return list(register.recommendations[:MAX_RECOMMENDATIONS])
