"""``aisec threats``: derive a threat model and test plan from a system profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aisec.cli.common import err_console, user_errors
from aisec.cli.output import (
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
    from aisec.threat import ThreatModel

FORMATS = ("md", "json", "html")


SUMMARY_COLUMNS = (
    Col("threat", key=True),
    Col("applies", optional=True),
    Col("L", optional=True),
    Col("I", optional=True),
    Col("risk"),
    Col("tests"),
)
"""Columns of the threat summary: when narrow, likelihood (L), impact (I) and `applies` are left
out (the risk column is their product, and `-` for threats that do not apply)."""


def _summary(tm: ThreatModel, console: Console) -> Table:
    rows = [
        [
            Text(t.id),
            Text("yes" if t.applicable else "no"),
            Text(str(t.likelihood or "-")),
            Text(str(t.impact or "-")),
            Text(f"{t.risk} {t.risk_level}" if t.applicable else "-"),
            Text(", ".join(t.tests) or "-"),
        ]
        for t in tm.threats
    ]
    return fitted_table(console, SUMMARY_COLUMNS, rows, title=f"Threat model of {tm.profile.name}")


def render(tm: ThreatModel, fmt: str) -> str:
    """The threat model as Markdown, JSON or a standalone HTML page."""
    if fmt == "json":
        return json.dumps(tm.to_dict(), indent=2) + "\n"
    if fmt == "md":
        from aisec.report.threat_markdown import threat_model_markdown

        return threat_model_markdown(tm)
    from aisec.report.threat_sections import threat_model_page

    return threat_model_page(tm)


def register(app: typer.Typer) -> None:
    """Add ``aisec threats``."""

    @app.command(
        "threats",
        epilog=epilog(
            "aisec threats -p builtin:digits-classifier -f html -o tm.html --emit-config plan.yaml"
        ),
    )
    @user_errors
    def threats(
        profile: str = typer.Option(
            ...,
            "--profile",
            "-p",
            help="System profile: a YAML file or builtin:NAME (e.g. builtin:digits-classifier).",
        ),
        fmt: str | None = format_option(None, FORMATS, "Output format: md (default), json, html."),
        output: Path | None = output_option(
            "Write the output to this file instead of stdout (the default)."
        ),
        emit_config: Path | None = typer.Option(
            None,
            "--emit-config",
            help="Write the test plan as an assessment config for `aisec assess` (default: "
            "none written).",
        ),
    ) -> None:
        """Derive the applicable threats, their risk and a test plan from a system profile."""
        from aisec.registry import missing_extras
        from aisec.threat import derive_threats, load_profile

        fmt = choose_format(fmt, FORMATS, default="md")
        check_output(output)
        tm = derive_threats(load_profile(profile))
        err_console.print(_summary(tm, err_console))
        for line in missing_extras():
            typer.echo(f"note: {line}; the plan lists them as unavailable", err=True)
        write_output(render(tm, fmt), output)
        if not is_stdout(output):
            err_console.print(f"wrote {fmt} threat model to {output}")
        for note in tm.notes:
            typer.echo(f"note: {note}", err=True)
        if emit_config is not None:
            _emit(tm, emit_config)


def _emit(tm: ThreatModel, path: Path) -> None:
    """Write the plan as an assessment config, or say why there is nothing to run."""
    import yaml

    config = tm.plan_config()
    chosen = config["targets"]
    for test_id, reason in sorted(tm.left_out(chosen).items()):
        typer.echo(f"note: left out {test_id}: {reason}", err=True)
    if not config["tests"]:
        planned = ", ".join(sorted(tm.plan.planned)) or "none"
        typer.echo(
            f"no registered test applies to profile {tm.profile.name}, so no config was "
            f"written to {path}; planned tests: {planned} (the plan above lists the gaps)",
            err=True,
        )
        return
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    stand_ins = [t["name"] for t in chosen if t.get("stand_in")]
    if stand_ins:
        typer.echo(
            f"note: target {', '.join(stand_ins)} is a built-in stand-in: replace it with your "
            "system's model; until then its results do not change residual risk",
            err=True,
        )
    err_console.print(
        f"wrote assessment config with {len(config['tests'])} test(s) to {path}; "
        f"run it with: aisec assess {path}"
    )
