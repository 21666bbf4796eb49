"""``aisec scan``: static analysis of model, data and archive files; nothing is executed."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from aisec.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    err_console,
    fail,
    out_console,
    user_errors,
)
from aisec.cli.output import (
    SCAN_EXIT,
    check_output,
    choose_format,
    epilog,
    format_option,
    is_stdout,
    output_option,
    write_output,
)
from aisec.cli.tables import Col, fitted_table

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


FORMATS = ("table", "json", "sarif")
"""Output formats of ``aisec scan``."""


SCAN_COLUMNS = (
    Col("file", key=True, detail=True),
    Col("format", detail=True),
    Col("severity"),
    Col("rule", key=True),
    Col("message", detail=True, label=False),
    Col("location", detail=True),
)
"""Columns of the scan table: when narrow, format, message and location (then a long file
name) move into one details column."""


def _table(report: object, console: Console) -> None:
    from aisec.supplychain.scan import ScanReport

    assert isinstance(report, ScanReport)
    rows = []
    for fr in report.files:
        if not fr.findings:
            rows.append(
                [Text(fr.path), Text(fr.format), Text("clean", style="green")] + [Text()] * 3
            )
        for f in fr.findings:
            sev = f.severity.value
            rows.append(
                [
                    Text(fr.path),
                    Text(fr.format),
                    Text(sev, style=_STYLE[sev]),
                    Text(f.rule),
                    Text(f.title),
                    Text(f.location),
                ]
            )
    table = fitted_table(console, SCAN_COLUMNS, rows, title="aisec scan")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``scan`` command."""

    @app.command(
        "scan",
        epilog=epilog(
            "aisec scan models/ --format sarif --output scan.sarif --fail-on high",
            exit_codes=SCAN_EXIT,
        ),
    )
    @user_errors
    def scan(
        paths: list[Path] = typer.Argument(..., help="Files or folders (scanned recursively)."),
        output_format: str | None = format_option(
            None,
            FORMATS,
            "Output format: table (default; on stderr), json or sarif (on stdout).",
        ),
        fail_on: str = typer.Option(
            "high", "--fail-on", help="Exit 1 at/above: info|low|medium|high|critical."
        ),
        output: Path | None = output_option(
            "Write the report to this file instead of stdout (default: stdout; the table goes "
            "to stderr)."
        ),
    ) -> None:
        """Scan model files statically and report unsafe content.

        Formats: pickle, PyTorch, joblib, NumPy, Keras, ONNX, safetensors, GGUF, archives.
        """
        from aisec.records import Severity
        from aisec.report.sarif import findings_to_sarif
        from aisec.supplychain.scan import scan_paths

        fmt = choose_format(output_format, FORMATS, default="table")
        threshold = Severity.parse(fail_on)
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise fail(f"path not found: {', '.join(missing)}; check the spelling")
        check_output(output)
        report = scan_paths(paths)
        if fmt == "table":
            if output is None:
                _table(report, err_console)
            elif is_stdout(output):
                _table(report, out_console)
            else:
                with open(output, "w", encoding="utf-8") as fh:
                    _table(report, Console(file=fh, width=160, no_color=True))
        else:
            doc = report.to_dict() if fmt == "json" else findings_to_sarif(report.findings)
            write_output(json.dumps(doc, indent=2), output)
        summary = report.summary()
        top = summary["max_severity"] or "none"
        err_console.print(
            f"Scanned {summary['files']} files: {summary['findings']} findings, highest {top}"
        )
        worst = report.max_severity
        raise typer.Exit(EXIT_FINDINGS if worst is not None and worst >= threshold else EXIT_OK)
