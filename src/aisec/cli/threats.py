"""``aisec threats``: derive a threat model and test plan from a system profile."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import yaml
from rich.table import Table

from aisec.cli.common import err_console, fail, user_errors

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
    from aisec.threat.render import threat_html_sections, threat_markdown_sections

    if fmt == "json":
        return json.dumps(tm.to_dict(), indent=2) + "\n"
    if fmt == "md":
        return f"# Threat model: {tm.profile.name}\n\n" + threat_markdown_sections(tm)
    title = f"Threat model: {escape(tm.profile.name)}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n"
        f"<body>\n<h1>{title}</h1>\n{threat_html_sections(tm)}\n</body></html>\n"
    )


def register(app: typer.Typer) -> None:
    """Add ``aisec threats``."""

    @app.command("threats")
    @user_errors
    def threats(
        profile: str = typer.Option(
            ...,
            "--profile",
            "-p",
            help="System profile: a YAML file or builtin:NAME (e.g. builtin:digits-classifier).",
        ),
        fmt: str = typer.Option("md", "--format", "-f", help="Output format: md, json or html."),
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Write the output to this file."
        ),
        emit_config: Path | None = typer.Option(
            None,
            "--emit-config",
            help="Write the test plan as an assessment config for `aisec assess`.",
        ),
    ) -> None:
        """Derive the applicable threats, their risk and a test plan from a system profile."""
        from aisec.registry import missing_extras
        from aisec.threat import derive_threats, load_profile

        if fmt not in FORMATS:
            raise fail(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        tm = derive_threats(load_profile(profile))
        err_console.print(_summary(tm))
        for line in missing_extras():
            typer.echo(f"note: {line}; the plan lists them as planned", err=True)
        text = render(tm, fmt)
        if output is not None:
            output.write_text(text, encoding="utf-8")
            err_console.print(f"wrote {fmt} threat model to {output}")
        else:
            typer.echo(text, nl=False)
        if emit_config is not None:
            config = tm.plan_config()
            emit_config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            err_console.print(
                f"wrote assessment config with {len(config['tests'])} test(s) to {emit_config}; "
                f"run it with: aisec assess {emit_config}"
            )
