"""``aisec scan``: static analysis of model, data and archive files; nothing is executed.

Scanners run once per file in pre-commit hooks and CI steps, so start-up is the user's latency.
A plain ``aisec scan PATH... [--format F] [--fail-on S] [--output O]`` therefore runs without
building the Typer app (:func:`run_plain`, called by :func:`aisec.cli.main.run`): it needs only
the scanner and Rich, never Typer, Pydantic, NumPy or PyTorch. Anything else (``--help``, an
option it does not know, a missing value) goes through Typer as usual; both ways run
:func:`scan_files`, so they print and exit alike.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import typer

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


FORMATS = ("table", "json", "sarif")
"""Output formats of ``aisec scan``."""
DEFAULT_FAIL_ON = "high"
"""``--fail-on`` when it is not given."""

PLAIN_OPTIONS = {
    "--format": "output_format",
    "-f": "output_format",
    "--fail-on": "fail_on",
    "--output": "output",
    "-o": "output",
}
"""The options :func:`parse_plain` reads, by spelling, and the :func:`scan_files` argument each
sets; the same spellings as the Typer command's (a test checks)."""


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


def scan_files(
    paths: Sequence[Path],
    output_format: str | None = None,
    fail_on: str = DEFAULT_FAIL_ON,
    output: Path | None = None,
) -> int:
    """Scan ``paths``, print or write the report and return the exit code (0, or 1 for findings
    at or above ``fail_on``).

    Raises:
        typer.Exit: Code 2 after one line on stderr, for a usage or input error.
    """
    from aisec.records import Severity
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
    elif fmt == "json":
        write_output(json.dumps(report.to_dict(), indent=2), output)
    else:
        from aisec.report.sarif import findings_to_sarif

        write_output(json.dumps(findings_to_sarif(report.findings), indent=2), output)
    summary = report.summary()
    top = summary["max_severity"] or "none"
    err_console.print(
        f"Scanned {summary['files']} files: {summary['findings']} findings, highest {top}"
    )
    worst = report.max_severity
    return EXIT_FINDINGS if worst is not None and worst >= threshold else EXIT_OK


def parse_plain(args: Sequence[str]) -> dict[str, Any] | None:
    """The :func:`scan_files` arguments of ``aisec scan ARGS``, or None when Typer must parse them.

    ARGS are plain when each is a path, one of :data:`PLAIN_OPTIONS` followed by its value, or a
    long option written ``--name=value``, with at least one path. Anything else is left to
    Typer, which parses it (or explains the mistake) as usual: ``--help``, ``--``, an unknown
    option, a short option joined to its value (``-fjson``), a missing or empty value, a value
    starting with ``-`` (other than ``-``, stdout), an empty argument.
    """
    values: dict[str, Any] = {"output_format": None, "fail_on": DEFAULT_FAIL_ON, "output": None}
    paths: list[Path] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if not arg:
            return None
        if not arg.startswith("-"):
            paths.append(Path(arg))
            continue
        name, joined, value = arg.partition("=")
        if name not in PLAIN_OPTIONS or (joined and not name.startswith("--")):
            return None
        if not joined:
            if not rest:
                return None
            value = rest.pop(0)
        if not value or (value.startswith("-") and value != "-"):
            return None
        key = PLAIN_OPTIONS[name]
        values[key] = Path(value) if key == "output" else value
    if not paths:
        return None
    return {"paths": paths, **values}


def run_plain(args: Sequence[str]) -> int | None:
    """Run ``aisec scan ARGS`` without Typer and return the exit code; None when ARGS are not
    plain (:func:`parse_plain`) or a shell-completion request is pending, so that the caller
    runs the Typer app instead.

    Errors end as they do under Typer: a usage or input error in one line and exit 2, an
    interrupt with exit 130, a closed stdout (``aisec scan ... | head``) with exit 1.
    """
    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return None
    parsed = parse_plain(args)
    if parsed is None:
        return None
    try:
        return user_errors(scan_files)(**parsed)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        # As Click does: nothing more reaches the closed pipe, not even the final flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, stream.fileno())
        return 1
    except Exception as exc:
        typer = sys.modules.get("typer")  # fail() imported it to raise typer.Exit
        if typer is not None and isinstance(exc, typer.Exit):
            return int(exc.exit_code)
        raise


def register(app: typer.Typer) -> None:
    """Add the ``scan`` command."""
    import typer

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
            DEFAULT_FAIL_ON, "--fail-on", help="Exit 1 at/above: info|low|medium|high|critical."
        ),
        output: Path | None = output_option(
            "Write the report to this file instead of stdout (default: stdout; the table goes "
            "to stderr)."
        ),
    ) -> None:
        """Scan model files statically and report unsafe content.

        Formats: pickle, PyTorch, joblib, NumPy, Keras, ONNX, safetensors, GGUF, archives.
        """
        raise typer.Exit(scan_files(paths, output_format, fail_on, output))
