"""Terminal summaries of assessment runs (Rich tables on stderr)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from aisec.cli.tables import Col, fitted_table
from aisec.report.model import ReportData
from aisec.report.views import view_for

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


RESULT_COLUMNS = (
    Col("test", key=True),
    Col("target", key=True),
    Col("status"),
    Col("clean acc", justify="right"),
    Col("robust acc", justify="right"),
    Col("success", justify="right"),
    Col("seconds", justify="right", optional=True),
)
"""Columns of the results table; seconds is dropped when the console is too narrow."""
FINDING_COLUMNS = (
    Col("severity"),
    Col("rule", key=True),
    Col("target", key=True),
    Col("title"),
)
"""Columns of the findings table (info findings are not listed)."""


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def print_summary(data: ReportData, console: Console) -> None:
    """A results table, then the findings table, then the verdict."""
    rows = []
    for r in data.results:
        cells = view_for(r).summary(r)
        rows.append(
            [
                Text(r.test_id),
                Text(r.target),
                Text(r.status.value, style="" if r.ok else "yellow"),
                Text(_fmt(cells.clean)),
                Text(_fmt(cells.under_attack)),
                Text(_fmt(cells.success)),
                Text(f"{r.seconds:.1f}"),
            ]
        )
    console.print(
        fitted_table(
            console,
            RESULT_COLUMNS,
            rows,
            title=f"aisec assessment: {data.name} ({data.run_id})",
            show_lines=False,
        )
    )
    if data.findings:
        rows = [
            [
                Text(f.severity.value, style=SEVERITY_STYLE[f.severity.value]),
                Text(f.rule),
                Text(f.target),
                Text(f.title),
            ]
            for f in data.findings
            if f.severity.value != "info"
        ]
        console.print(fitted_table(console, FINDING_COLUMNS, rows, title="Findings"))
    for w in data.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    worst = data.max_severity
    verdict = "FAIL" if data.failed else "INCONCLUSIVE" if data.inconclusive else "PASS"
    style = "bold red" if data.failed else "bold yellow" if data.inconclusive else "bold green"
    console.print(
        f"[{style}]{verdict}[/] worst finding: {worst.value if worst else 'none'}; "
        f"fail-on: {data.fail_on.value}; {data.units_done}/{data.units_total} units"
    )
