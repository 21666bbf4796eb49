"""``aisec threats``: derive a threat model and test plan from a system profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import yaml
from rich.table import Table

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

if TYPE_CHECKING:
    from aisec.threat import ThreatModel

FORMATS = ("md", "json", "html")


def _summary(tm: ThreatModel) -> Table:
    table = Table(title=f"Threat model of {tm.profile.name}")
    for col in ("threat", "applies", "L", "I", "risk", "tests"):
        table.add_column(col)
    for t in tm.threats:
        table.add_row(
            t.id,
            "yes" if t.applicable else "no",
            str(t.likelihood or "-"),
            str(t.impact or "-"),
            f"{t.risk} {t.risk_level}" if t.applicable else "-",
            ", ".join(t.tests) or "-",
        )
    return table


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
        output: Path | None = output_option("Write the output to this file instead of stdout."),
        emit_config: Path | None = typer.Option(
            None,
            "--emit-config",
            help="Write the test plan as an assessment config for `aisec assess`.",
        ),
    ) -> None:
        """Derive the applicable threats, their risk and a test plan from a system profile."""
        from aisec.registry import missing_extras
        from aisec.threat import derive_threats, load_profile

        fmt = choose_format(fmt, FORMATS, default="md")
        check_output(output)
        tm = derive_threats(load_profile(profile))
        err_console.print(_summary(tm))
        for line in missing_extras():
            typer.echo(f"note: {line}; the plan lists them as planned", err=True)
        write_output(render(tm, fmt), output)
        if not is_stdout(output):
            err_console.print(f"wrote {fmt} threat model to {output}")
        if emit_config is not None:
            config = tm.plan_config()
            emit_config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            err_console.print(
                f"wrote assessment config with {len(config['tests'])} test(s) to {emit_config}; "
                f"run it with: aisec assess {emit_config}"
            )
