"""Renderers of the threat model, risk register, taxonomy crosswalk and Art. 15 evidence.

:func:`threat_html_sections` returns a self-contained HTML fragment (inline CSS and SVG, no
scripts, no external resources) with ``<section id="threat-model">``, ``id="risk-register"``,
``id="taxonomy-crosswalk"`` and ``id="ai-act"``; :func:`threat_markdown_sections` returns the
same content as Markdown.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from aisec.threat.ai_act import AiActEvidence, ai_act_evidence
from aisec.threat.diagram import dataflow_svg
from aisec.threat.model import ThreatModel, ThreatRecord
from aisec.threat.register import RiskRegister, build_risk_register
from aisec.threat.rules import risk_level

_LEVEL_COLOURS = {
    "none": "#f4f4f4",
    "low": "#d5f0d5",
    "medium": "#fdf0c2",
    "high": "#f9c99b",
    "critical": "#f19a9a",
}
_STATUS_COLOURS = {
    "tested-passed": "#d5f0d5",
    "tested-failed": "#f19a9a",
    "not-tested": "#e6e6e6",
    "gap": "#e6e6e6",
}

_CSS = """
.aisec-threat table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
.aisec-threat th,.aisec-threat td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;
text-align:left}
.aisec-threat th{background:#f0f0f0}
.aisec-threat .na{color:#777}
.aisec-threat .badge{display:inline-block;padding:0 .4em;border-radius:.3em;font-size:.85em}
.aisec-threat table.heatmap td{width:7em;height:3em;text-align:center;font-size:.8em}
.aisec-threat code{font-size:.9em}
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower()


def _badge(text: str, colour: str) -> str:
    return f'<span class="badge" style="background:{colour}">{escape(text)}</span>'


def _defaults(
    tm: ThreatModel, register: RiskRegister | None, ai: AiActEvidence | None
) -> tuple[RiskRegister, AiActEvidence]:
    register = register or build_risk_register(tm)
    ai = ai or ai_act_evidence(tm, register=register)
    return register, ai


def _crosswalk_cells(t: ThreatRecord) -> list[str]:
    e = t.entry
    return [
        ", ".join(f"{r.id} {r.title}" for r in e.refs("nist")) or "-",
        ", ".join(f"{r.id} {r.title}" for r in e.refs("atlas")) or "-",
        ", ".join(f"{r.id} {r.title}" for r in e.refs("owasp-ml")) or "-",
        ", ".join(f"{r.id} {r.title}" for r in e.refs("owasp-llm")) or "-",
        ", ".join(e.ai_act),
    ]


def _findings(register: RiskRegister) -> list[tuple[dict[str, Any], list[ThreatRecord]]]:
    """Each finding of the register once, with the threats it evidences."""
    seen: dict[str, tuple[dict[str, Any], list[ThreatRecord]]] = {}
    for entry in register.entries:
        for ev in entry.evidence:
            if ev["kind"] == "finding":
                seen.setdefault(ev["id"], (ev, []))[1].append(entry.threat)
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    return sorted(seen.values(), key=lambda x: (order.get(x[0]["severity"], 5), x[0]["id"]))


# --- HTML --------------------------------------------------------------------------------------
def _html_threat_model(tm: ThreatModel) -> str:
    p = tm.profile
    facts = [
        ("Technology", p.technology),
        ("Task / modality", f"{p.task} / {p.modality}"),
        ("Data sources", ", ".join(p.data_sources)),
        ("Model provenance", p.provenance),
        ("Exposure", ", ".join(p.exposure)),
        ("Outputs reveal", ", ".join(p.outputs)),
        ("Tools", ", ".join(p.tools) or "none"),
        ("Training data", p.training_data_sensitivity),
        ("Criticality", p.criticality),
        ("AI Act risk class", p.ai_act_risk_class),
    ]
    rows = []
    for t in tm.threats:
        cls = "" if t.applicable else ' class="na"'
        risk = (
            _badge(f"{t.risk} {t.risk_level}", _LEVEL_COLOURS[t.risk_level])
            if t.applicable
            else "-"
        )
        tests = ", ".join(t.tests) or "none yet"
        rows.append(
            f'<tr{cls} id="threat-{escape(t.id)}"><td><code>{escape(t.id)}</code><br>'
            f"{escape(t.name)}</td><td>{'yes' if t.applicable else 'no'}</td>"
            f"<td>{t.likelihood or '-'}</td><td>{t.impact or '-'}</td>"
            f"<td>{risk}</td><td>{escape(t.rationale)}</td>"
            f"<td>{escape(', '.join(t.entry.lifecycle_stages))}</td>"
            f"<td>{escape(tests)}</td></tr>"
        )
    plan_rows = (
        "".join(
            f"<tr><td><code>{escape(t.id)}</code></td><td><code>{escape(_params(t.params))}</code></td>"
            f"<td>{escape(', '.join(t.threats))}</td><td>{escape(t.reason)}</td></tr>"
            for t in tm.plan.tests
        )
        or '<tr><td colspan="4">No registered test measures the applicable threats yet.</td></tr>'
    )
    planned = (
        ", ".join(f"{k} ({', '.join(v)})" for k, v in sorted(tm.plan.planned.items())) or "none"
    )
    untested = ", ".join(tm.plan.untested) or "none"
    needs = "".join(
        f"<li><code>{escape(k)}</code>: {escape(v)}</li>"
        for k, v in sorted(tm.plan.needs_config.items())
    )
    needs_html = f"<p>Tests that need your parameters:</p><ul>{needs}</ul>\n" if needs else ""
    return (
        '<section id="threat-model">\n<h2>Threat model</h2>\n'
        f"<p>Profile <strong>{escape(p.name)}</strong>: {escape(p.description)}</p>\n"
        "<table><tbody>"
        + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
        + "</tbody></table>\n<h3>Data flow and attack points</h3>\n"
        + dataflow_svg(tm)
        + "\n<h3>Threats</h3>\n<table><thead><tr><th>Threat</th><th>Applies</th><th>Likelihood</th>"
        "<th>Impact</th><th>Risk</th><th>Rationale</th><th>Lifecycle</th><th>aisec tests</th>"
        "</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>\n"
        "<h3>Test plan</h3>\n<table><thead><tr><th>Test</th><th>Parameters</th><th>Threats</th>"
        f"<th>Why</th></tr></thead><tbody>{plan_rows}</tbody></table>\n"
        f"<p>Planned tests (not available yet): {escape(planned)}.</p>\n"
        f"<p>Applicable threats no available test measures: {escape(untested)}.</p>\n"
        f"{needs_html}</section>"
    )


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"


def _html_heatmap(register: RiskRegister) -> str:
    grid = register.heatmap()
    head = "".join(f"<th>L{li}</th>" for li in range(1, 6))
    rows = []
    for impact in range(5, 0, -1):
        cells = []
        for li in range(1, 6):
            ids = grid[impact - 1][li - 1]
            colour = _LEVEL_COLOURS[risk_level(li * impact)]
            text = "<br>".join(escape(i) for i in ids)
            cells.append(
                f'<td style="background:{colour}" title="likelihood {li}, impact {impact}">'
                f"{text}</td>"
            )
        rows.append(f"<tr><th>I{impact}</th>{''.join(cells)}</tr>")
    return (
        '<table class="heatmap" aria-label="Residual risk heat map"><thead><tr>'
        "<th>impact \\ likelihood</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _html_register(register: RiskRegister) -> str:
    rows = []
    for e in register.entries:
        t = e.threat
        evidence = (
            ", ".join(
                f'<a href="#crosswalk-{_slug(ev["id"])}">{escape(ev["id"])}</a>'
                if ev["kind"] == "finding"
                else escape(ev["id"])
                for ev in e.evidence
            )
            or "none"
        )
        residual = (
            f"{e.residual_likelihood}×{e.residual_impact} = {e.residual_risk} ({e.residual_level})"
        )
        rows.append(
            f"<tr><td><code>{escape(t.id)}</code></td>"
            f"<td>{_badge(e.status, _STATUS_COLOURS[e.status])}</td>"
            f"<td>{t.likelihood}&times;{t.impact} = {t.risk} ({t.risk_level})</td>"
            f"<td>{_badge(residual, _LEVEL_COLOURS[e.residual_level])}</td>"
            f"<td>{escape(e.basis)}</td><td>{evidence}</td></tr>"
        )
    recs = "".join(
        f"<tr><td>{r['rank']}</td><td>{escape(r['name'])}</td><td>{escape(r['kind'])}</td>"
        f"<td>{escape(r['atlas'] or '-')}</td><td>{r['risk_addressed']}</td>"
        f"<td>{escape(', '.join(r['threats']))}</td></tr>"
        for r in register.recommendations[:15]
    )
    gaps = ", ".join(e.threat.id for e in register.gaps) or "none"
    return (
        '<section id="risk-register">\n<h2>Risk register</h2>\n'
        "<p>Residual risk = residual likelihood &times; impact, from measured evidence "
        "(rules in docs/threat-modelling.md).</p>\n"
        + _html_heatmap(register)
        + "\n<table><thead><tr><th>Threat</th><th>Status</th><th>Inherent</th><th>Residual</th>"
        f"<th>Basis</th><th>Evidence</th></tr></thead><tbody>{''.join(rows)}</tbody></table>\n"
        f"<p><strong>Gaps (untested threats):</strong> {escape(gaps)}</p>\n"
        "<h3>Recommended defences and controls</h3>\n<table><thead><tr><th>#</th><th>Measure</th>"
        "<th>Kind</th><th>ATLAS</th><th>Risk addressed</th><th>Threats</th></tr></thead>"
        f"<tbody>{recs}</tbody></table>\n</section>"
    )


def _html_crosswalk(tm: ThreatModel, register: RiskRegister) -> str:
    head = (
        "<th>NIST AI 100-2 E2025</th><th>MITRE ATLAS 5.6.0</th><th>OWASP ML 2023</th>"
        "<th>OWASP LLM 2025</th><th>AI Act Art. 15</th>"
    )
    frows = []
    for ev, threats in _findings(register):
        for t in threats:
            cells = "".join(f"<td>{escape(c)}</td>" for c in _crosswalk_cells(t))
            frows.append(
                f'<tr id="crosswalk-{_slug(ev["id"])}"><td><code>{escape(ev["id"])}</code><br>'
                f"{escape(ev['title'])}</td><td>{escape(ev['severity'])}</td><td><code>{escape(t.id)}</code></td>{cells}</tr>"
            )
    findings_table = (
        f"<table><thead><tr><th>Finding</th><th>Severity</th><th>Threat</th>{head}</tr></thead>"
        f"<tbody>{''.join(frows)}</tbody></table>"
        if frows
        else "<p>No findings to map.</p>"
    )
    trows = "".join(
        f"<tr><td><code>{escape(t.id)}</code></td>"
        + "".join(f"<td>{escape(c)}</td>" for c in _crosswalk_cells(t))
        + "</tr>"
        for t in tm.applicable
    )
    return (
        '<section id="taxonomy-crosswalk">\n<h2>Taxonomy crosswalk</h2>\n<h3>Per finding</h3>\n'
        f"{findings_table}\n<h3>Per applicable threat</h3>\n"
        f"<table><thead><tr><th>Threat</th>{head}</tr></thead><tbody>{trows}</tbody></table>\n"
        "<p>MITRE ATLAS identifiers and names: Copyright 2021-2025 MITRE, "
        "Apache License 2.0.</p>\n</section>"
    )


def _html_ai_act(ai: AiActEvidence) -> str:
    rows = []
    for c in ai.clauses:
        links = [f'<a href="#crosswalk-{_slug(f)}">{escape(f)}</a>' for f in c.findings]
        links += [escape(t) for t in c.tests]
        rows.append(
            f'<tr id="ai-act-{_slug(c.id)}"><td>Art. {escape(c.id)}</td>'
            f"<td><strong>{escape(c.title)}</strong><br>"
            f"{escape(c.summary)}</td><td>{_badge(c.status, _STATUS_COLOURS[c.status])}</td>"
            f"<td>{escape(', '.join(c.threats)) or '-'}</td><td>{', '.join(links) or 'none'}</td>"
            f"<td>{escape(c.note)}</td></tr>"
        )
    return (
        '<section id="ai-act">\n<h2>EU AI Act Art. 15 evidence</h2>\n'
        f"<p>{escape(ai.regulation)}; risk class of the system: {escape(ai.risk_class)}.</p>\n"
        "<table><thead><tr><th>Clause</th><th>Requirement</th><th>Status</th><th>Threats</th>"
        f"<th>Evidence</th><th>Note</th></tr></thead><tbody>{''.join(rows)}</tbody></table>\n</section>"
    )


def threat_html_sections(
    tm: ThreatModel, register: RiskRegister | None = None, ai: AiActEvidence | None = None
) -> str:
    """Self-contained HTML fragment: threat model (with data-flow SVG), risk register (with heat
    map), taxonomy crosswalk per finding, and EU AI Act Art. 15 evidence.

    ``register`` and ``ai`` default to those of a run without evidence (every threat a gap).
    """
    register, ai = _defaults(tm, register, ai)
    parts = [
        f'<div class="aisec-threat"><style>{_CSS}</style>',
        _html_threat_model(tm),
        _html_register(register),
        _html_crosswalk(tm, register),
        _html_ai_act(ai),
        "</div>",
    ]
    return "\n".join(parts)


# --- Markdown ----------------------------------------------------------------------------------
def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows]
    return out


def threat_markdown_sections(
    tm: ThreatModel, register: RiskRegister | None = None, ai: AiActEvidence | None = None
) -> str:
    """The same sections as :func:`threat_html_sections`, in Markdown (heat map as a table)."""
    register, ai = _defaults(tm, register, ai)
    p = tm.profile
    lines = ["## Threat model", "", f"Profile **{p.name}**: {p.description}", ""]
    lines += _md_table(
        ["Threat", "Applies", "L", "I", "Risk", "Rationale", "aisec tests"],
        [
            [
                t.id,
                "yes" if t.applicable else "no",
                t.likelihood or "-",
                t.impact or "-",
                f"{t.risk} {t.risk_level}" if t.applicable else "-",
                t.rationale,
                ", ".join(t.tests) or "none yet",
            ]
            for t in tm.threats
        ],
    )
    lines += ["", "### Test plan", ""]
    lines += _md_table(
        ["Test", "Parameters", "Threats", "Why"],
        [[t.id, _params(t.params), ", ".join(t.threats), t.reason] for t in tm.plan.tests],
    )
    planned = (
        ", ".join(f"{k} ({', '.join(v)})" for k, v in sorted(tm.plan.planned.items())) or "none"
    )
    lines += ["", f"Planned tests (not available yet): {planned}.", ""]
    for k, v in sorted(tm.plan.needs_config.items()):
        lines += [f"- `{k}` needs your parameters: {v}"]
    if tm.plan.needs_config:
        lines += [""]
    lines += [
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
                ", ".join(ev["id"] for ev in e.evidence) or "none",
            ]
            for e in register.entries
        ],
    )
    lines += [
        "",
        f"**Gaps (untested threats):** {', '.join(e.threat.id for e in register.gaps) or 'none'}",
        "",
    ]
    lines += ["### Recommended defences and controls", ""]
    lines += _md_table(
        ["#", "Measure", "Kind", "Risk addressed", "Threats"],
        [
            [r["rank"], r["name"], r["kind"], r["risk_addressed"], ", ".join(r["threats"])]
            for r in register.recommendations[:15]
        ],
    )
    lines += ["", "## Taxonomy crosswalk", ""]
    head = [
        "NIST AI 100-2 E2025",
        "MITRE ATLAS 5.6.0",
        "OWASP ML 2023",
        "OWASP LLM 2025",
        "AI Act Art. 15",
    ]
    frows = [
        [ev["id"], ev["severity"], t.id, *_crosswalk_cells(t)]
        for ev, ts in _findings(register)
        for t in ts
    ]
    lines += (
        _md_table(["Finding", "Severity", "Threat", *head], frows)
        if frows
        else ["No findings to map."]
    )
    lines += ["", "## EU AI Act Art. 15 evidence", ""]
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
    return "\n".join(lines) + "\n"
