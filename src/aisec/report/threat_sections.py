"""HTML of the threat model, risk register, taxonomy crosswalk and EU AI Act Art. 15 evidence.

:func:`threat_html_sections` returns a self-contained HTML fragment (inline CSS and SVG, no
scripts, no external resources) with ``<section id="threat-model">``, ``id="risk-register"``,
``id="taxonomy-crosswalk"`` and ``id="ai-act"``, rendered through the autoescaped template
``threat_sections.html.j2``; the assessment report embeds it. :func:`threat_model_page` wraps
the fragment in a standalone page (``aisec threats --format html``).
"""

from __future__ import annotations

from typing import Any

from aisec.report import threat_view as view
from aisec.report.dataflow import dataflow_svg
from aisec.report.templating import environment
from aisec.threat.ai_act import AiActEvidence
from aisec.threat.model import ThreatModel
from aisec.threat.register import RiskRegister
from aisec.threat.rules import risk_level

SECTIONS_TEMPLATE = "threat_sections.html.j2"
"""Template of the fragment, in ``aisec/report/templates``."""
PAGE_TEMPLATE = "threat_page.html.j2"
"""Template of the standalone page, in ``aisec/report/templates``."""


def _heatmap(register: RiskRegister) -> list[tuple[int, list[tuple[int, str, list[str]]]]]:
    """Rows of the residual-risk heat map, impact 5 first: (impact, [(likelihood, colour, ids)])."""
    grid = register.heatmap()
    return [
        (
            impact,
            [
                (li, view.LEVEL_COLOURS[risk_level(li * impact)], list(grid[impact - 1][li - 1]))
                for li in range(1, 6)
            ],
        )
        for impact in range(5, 0, -1)
    ]


def _context(tm: ThreatModel, register: RiskRegister, ai: AiActEvidence) -> dict[str, Any]:
    import markupsafe

    return {
        "tm": tm,
        "register": register,
        "ai": ai,
        "facts": view.profile_facts(tm),
        "svg": markupsafe.Markup(dataflow_svg(tm)),
        "planned": view.planned_text(tm.plan),
        "unavailable": view.unavailable_text(tm.plan),
        "needs": sorted(tm.plan.needs_config.items()),
        "heatmap": _heatmap(register),
        "gaps": view.gaps_text(register),
        "recommendations": view.recommendations(register),
        "findings": view.findings(register),
        "crosswalk_head": view.CROSSWALK_HEAD,
        "level_colours": view.LEVEL_COLOURS,
        "status_colours": view.STATUS_COLOURS,
        "slug": view.slug,
        "tests_text": view.tests_text,
        "params_text": view.params_text,
        "crosswalk_cells": view.crosswalk_cells,
    }


def threat_html_sections(
    tm: ThreatModel, register: RiskRegister | None = None, ai: AiActEvidence | None = None
) -> str:
    """Self-contained HTML fragment: threat model (with data-flow SVG), risk register (with heat
    map), taxonomy crosswalk per finding, and EU AI Act Art. 15 evidence.

    Args:
        tm: The derived threat model.
        register: Its risk register; default: that of a run without evidence (every threat a
            gap).
        ai: Its Art. 15 evidence; default: that of ``register``.

    Returns:
        One ``<div class="aisec-threat">`` holding the four sections.
    """
    register, ai = view.with_defaults(tm, register, ai)
    html = environment().get_template(SECTIONS_TEMPLATE).render(_context(tm, register, ai))
    return html.rstrip("\n")


def threat_model_page(
    tm: ThreatModel, register: RiskRegister | None = None, ai: AiActEvidence | None = None
) -> str:
    """A standalone HTML page of the threat model: a title and :func:`threat_html_sections`.

    The page carries a Content-Security-Policy that forbids every network fetch, like
    ``report.html``.
    """
    import markupsafe

    sections = markupsafe.Markup(threat_html_sections(tm, register, ai))
    return environment().get_template(PAGE_TEMPLATE).render(name=tm.profile.name, sections=sections)
