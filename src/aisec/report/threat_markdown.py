"""Markdown of the threat model, risk register, taxonomy crosswalk and Art. 15 evidence.

The same sections as :mod:`aisec.report.threat_sections`, with the heat map as a table and
without the diagram. Cell text has its pipes escaped and newlines folded so that it cannot
break a table.
"""

from __future__ import annotations

from typing import Any

from aisec.report import threat_view as view
from aisec.threat.ai_act import AiActEvidence
from aisec.threat.model import ThreatModel
from aisec.threat.register import RiskRegister


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
    return out


def _threat_model(tm: ThreatModel) -> list[str]:
    p = tm.profile
    lines = ["## Threat model", "", f"Profile **{p.name}**: {p.description}", ""]
    lines += _md_table(
        ["Threat", "Applies", "L", "I", "Risk", "Rationale", "Attack paths (ATLAS)", "aisec tests"],
        [
            [
                t.id,
                "yes" if t.applicable else "no",
                t.likelihood or "-",
                t.impact or "-",
                f"{t.risk} {t.risk_level}" if t.applicable else "-",
                t.rationale,
                view.paths_text(t),
                view.tests_text(t),
            ]
            for t in tm.threats
        ],
    )
    if tm.notes:
        lines += ["", "Notes on the profile:", ""] + [f"- {n}" for n in tm.notes]
    lines += ["", "### Test plan", ""]
    lines += _md_table(
        ["Test", "Parameters", "Threats", "Why"],
        [[t.id, view.params_text(t.params), ", ".join(t.threats), t.reason] for t in tm.plan.tests],
    )
    lines += ["", f"Planned tests (not available yet): {view.planned_text(tm.plan)}.", ""]
    if tm.plan.unavailable:
        lines += [f"Tests this installation cannot run: {view.unavailable_text(tm.plan)}.", ""]
    for k, v in sorted(tm.plan.needs_config.items()):
        lines += [f"- `{k}` needs your parameters: {v}"]
    if tm.plan.needs_config:
        lines += [""]
    return lines


def _register(register: RiskRegister) -> list[str]:
    lines = [
        "## Risk register",
        "",
        "Residual risk heat map (rows: impact, columns: likelihood):",
        "",
    ]
    grid = register.heatmap()
    lines += _md_table(
        ["I \\ L", "1", "2", "3", "4", "5"],
        [
            [f"I{i}", *(", ".join(grid[i - 1][li - 1]) or "·" for li in range(1, 6))]
            for i in range(5, 0, -1)
        ],
    )
    lines += [""]
    lines += _md_table(
        ["Threat", "Status", "Inherent", "Residual", "Basis", "Evidence"],
        [
            [
                e.threat.id,
                e.status,
                f"{e.threat.risk} {e.threat.risk_level}",
                f"{e.residual_risk} {e.residual_level}",
                e.basis,
                ", ".join(view.evidence_label(ev) for ev in e.evidence) or "none",
            ]
            for e in register.entries
        ],
    )
    lines += ["", f"**Gaps (untested threats):** {view.gaps_text(register)}", ""]
    if register.stand_ins:
        lines += [
            f"**Stand-in targets** (evidence shown, residual risk unchanged): "
            f"{view.stand_in_text(register)}",
            "",
        ]
    lines += ["### Recommended defences and controls", ""]
    lines += _md_table(
        ["#", "Measure", "Kind", "Risk addressed", "Threats"],
        [
            [r["rank"], r["name"], r["kind"], r["risk_addressed"], ", ".join(r["threats"])]
            for r in view.recommendations(register)
        ],
    )
    return lines


def _crosswalk(register: RiskRegister) -> list[str]:
    lines = ["", "## Taxonomy crosswalk", ""]
    frows = [
        [ev["id"], ev["severity"], t.id, *view.crosswalk_cells(t)]
        for ev, ts in view.findings(register)
        for t in ts
    ]
    lines += (
        _md_table(["Finding", "Severity", "Threat", *view.CROSSWALK_HEAD], frows)
        if frows
        else ["No findings to map."]
    )
    return lines


def _ai_act(ai: AiActEvidence) -> list[str]:
    lines = ["", "## EU AI Act Art. 15 evidence", ""]
    lines += _md_table(
        ["Clause", "Requirement", "Status", "Evidence", "Note"],
        [
            [
                f"Art. {c.id}",
                c.title,
                c.status,
                ", ".join([*c.findings, *c.tests]) or "none",
                c.note,
            ]
            for c in ai.clauses
        ],
    )
    return lines


def threat_markdown_sections(
    tm: ThreatModel, register: RiskRegister | None = None, ai: AiActEvidence | None = None
) -> str:
    """The threat model, risk register, crosswalk and Art. 15 evidence as Markdown sections.

    ``register`` and ``ai`` default to those of a run without evidence (every threat a gap).
    """
    register, ai = view.with_defaults(tm, register, ai)
    lines = [*_threat_model(tm), *_register(register), *_crosswalk(register), *_ai_act(ai)]
    return "\n".join(lines) + "\n"


def threat_model_markdown(tm: ThreatModel) -> str:
    """A standalone Markdown document of the threat model (``aisec threats --format md``)."""
    return f"# Threat model: {tm.profile.name}\n\n" + threat_markdown_sections(tm)
