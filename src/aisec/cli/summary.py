"""Terminal summaries of assessment runs (Rich tables on stderr)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from aisec.report.model import ReportData
from aisec.report.views import view_for

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def print_summary(data: ReportData, console: Console) -> None:
    """A results table, then the findings table, then the verdict."""
    table = Table(title=f"aisec assessment: {data.name} ({data.run_id})", show_lines=False)
    table.add_column("test", no_wrap=True, min_width=16)
    table.add_column("target", no_wrap=True)
    table.add_column("status")
    for col in ("clean acc", "robust acc", "success", "seconds"):
        table.add_column(col, justify="right")
    for r in data.results:
        cells = view_for(r).summary(r)
        table.add_row(
            r.test_id,
            r.target,
            r.status.value if r.ok else f"[yellow]{r.status.value}[/]",
            _fmt(cells.clean),
            _fmt(cells.under_attack),
            _fmt(cells.success),
            f"{r.seconds:.1f}",
        )
    console.print(table)
    if data.findings:
        ft = Table(title="Findings", show_lines=False)
        for col in ("severity", "rule", "target", "title"):
            ft.add_column(col)
        for f in data.findings:
            if f.severity.value == "info":
                continue
            style = SEVERITY_STYLE[f.severity.value]
            ft.add_row(f"[{style}]{f.severity.value}[/]", f.rule, f.target, f.title)
        console.print(ft)
    for w in data.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    worst = data.max_severity
    verdict = "FAIL" if data.failed else "INCONCLUSIVE" if data.inconclusive else "PASS"
    style = "bold red" if data.failed else "bold yellow" if data.inconclusive else "bold green"
    console.print(
        f"[{style}]{verdict}[/] worst finding: {worst.value if worst else 'none'}; "
        f"fail-on: {data.fail_on.value}; {data.units_done}/{data.units_total} units"
    )
