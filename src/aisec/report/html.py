"""The self-contained ``report.html``: one file, inline CSS and images, no scripts, no fetches.

The page carries a Content-Security-Policy that forbids every network fetch (only inline
styles and ``data:`` images are allowed), so even a pre-rendered section cannot make the
browser reach out. Every value is escaped by Jinja2's autoescaping; only
``ReportData.extra_html`` is inserted verbatim, by design.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aisec.report import content
from aisec.report.model import ReportData
from aisec.report.sections import test_sections

TEMPLATE = "report.html.j2"
"""Template file in ``aisec/report/templates``."""


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aisec.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = content.format_value
    env.filters["metric"] = lambda value, key="": content.format_metric(key, value)
    env.filters["label"] = content.label
    env.filters["anyval"] = lambda value, key="": content.format_any(key, value)
    return env


def render_html(data: ReportData) -> str:
    """Render one run as a single self-contained HTML page.

    Args:
        data: The run, as loaded from the results store.

    Returns:
        The complete HTML document.
    """
    import markupsafe

    env = _environment()
    columns = content.headline_columns(data.results)
    slugs = content.slugs(data.results)
    tests = [
        {
            "slug": slug,
            "result": r,
            "headline": content.headline(r),
            "findings": len(content.findings_for(r, data.findings)),
        }
        for slug, r in zip(slugs, data.results, strict=True)
    ]
    worst = data.max_severity
    return env.get_template(TEMPLATE).render(
        data=data,
        verdict=content.verdict(data),
        failed=data.failed,
        worst=worst.value if worst is not None else None,
        counts=content.severity_counts(data.findings),
        status_counts=content.status_counts(data.results),
        targets=content.target_rows(data.targets),
        columns=columns,
        tests=tests,
        not_ok=[t for t in tests if content.is_bad_status(t["result"])],
        sections=test_sections(data, figures=True),
        extra_html=markupsafe.Markup(data.extra_html or ""),
    )
