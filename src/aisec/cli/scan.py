"""``aisec scan``: static analysis of model, data and archive files; nothing is executed."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from aisec.cli.common import EXIT_FINDINGS, EXIT_OK, err_console, fail, user_errors

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


class OutputFormat(StrEnum):
    """Output formats of ``aisec scan``."""

    table = "table"
    json = "json"
    sarif = "sarif"


def _table(report: object, console: Console) -> None:
    from aisec.supplychain.scan import ScanReport

    assert isinstance(report, ScanReport)
    table = Table(title="aisec scan", show_lines=False)
    for col in ("file", "format", "severity", "rule", "message", "location"):
        table.add_column(col, overflow="fold")
    for fr in report.files:
        if not fr.findings:
            table.add_row(fr.path, fr.format, "[green]clean[/]", "", "", "")
        for f in fr.findings:
            sev = f.severity.value
            table.add_row(
                fr.path, fr.format, f"[{_STYLE[sev]}]{sev}[/]", f.rule, f.title, f.location
            )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``scan`` command."""

    @app.command("scan")
    @user_errors
    def scan(
        paths: list[Path] = typer.Argument(..., help="Files or folders (scanned recursively)."),
        output_format: OutputFormat = typer.Option(
            OutputFormat.table, "--format", "-f", help="table (stderr), json or sarif (stdout)."
        ),
        fail_on: str = typer.Option(
            "high", "--fail-on", help="Exit 1 at/above: info|low|medium|high|critical."
        ),
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write the report to this file instead of stdout."
        ),
    ) -> None:
        """Scan model files statically (pickle, PyTorch, joblib, NumPy, Keras, ONNX,
        safetensors, GGUF, archives) and report unsafe content."""
        from aisec.records import Severity
        from aisec.report.sarif import findings_to_sarif
        from aisec.supplychain.scan import rules_help, scan_paths

        threshold = Severity.parse(fail_on)
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise fail(f"path not found: {', '.join(missing)}; check the spelling")
        if output is not None and not output.parent.is_dir():
            raise fail(
                f"folder {str(output.parent)!r} does not exist; create it or change --output"
            )
        report = scan_paths(paths)
        if output_format is OutputFormat.table:
            if output is not None:
                with open(output, "w", encoding="utf-8") as fh:
                    _table(report, Console(file=fh, width=160, no_color=True))
            else:
                _table(report, err_console)
        else:
            doc = (
                report.to_dict()
                if output_format is OutputFormat.json
                else findings_to_sarif(report.findings, rules_help=rules_help())
            )
            text = json.dumps(doc, indent=2)
            if output is not None:
                output.write_text(text + "\n", encoding="utf-8")
            else:
                sys.stdout.write(text + "\n")
        summary = report.summary()
        top = summary["max_severity"] or "none"
        err_console.print(
            f"Scanned {summary['files']} files: {summary['findings']} findings, highest {top}"
        )
        worst = report.max_severity
        raise typer.Exit(EXIT_FINDINGS if worst is not None and worst >= threshold else EXIT_OK)
