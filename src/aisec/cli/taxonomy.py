"""``aisec taxonomy``: browse the harmonised threat catalogue."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aisec.cli.common import out_console, user_errors
from aisec.cli.output import (
    check_output,
    choose_format,
    epilog,
    format_option,
    is_stdout,
    json_alias,
    output_option,
    write_output,
)
from aisec.cli.tables import Col, fitted_table

if TYPE_CHECKING:
    from aisec.taxonomy import Catalogue, ThreatEntry

FORMATS = ("table", "json")
"""Output formats of ``aisec taxonomy``."""


CATALOGUE_COLUMNS = (
    Col("id", key=True),
    Col("name", detail=True, label=False),
    Col("NIST", detail=True),
    Col("ATLAS", detail=True),
    Col("OWASP", detail=True),
    Col("AI Act", detail=True),
    Col("tests", detail=True),
)
"""Columns of the catalogue table: when narrow, one ``threat`` column of labelled lines."""


def _detail(entry: ThreatEntry) -> Table:
    table = Table(title=f"{entry.id}: {entry.name}", show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    a = entry.attacker
    rows = [
        ("description", entry.description),
        ("lifecycle stages", ", ".join(entry.lifecycle_stages)),
        ("technology levels", ", ".join(entry.technology_levels)),
        (
            "attacker",
            f"goal {a.goal}; knowledge {', '.join(a.knowledge)}; "
            f"capabilities {', '.join(a.capabilities)}",
        ),
        ("attack points", ", ".join(entry.attack_points)),
    ]
    for fw, label in (
        ("nist", "NIST AI 100-2 E2025"),
        ("atlas", "MITRE ATLAS 5.6.0"),
        ("owasp-ml", "OWASP ML Top 10 2023"),
        ("owasp-llm", "OWASP LLM Top 10 2025"),
    ):
        rows.append((label, "\n".join(r.label for r in entry.refs(fw)) or "-"))
    rows += [
        ("EU AI Act Art. 15", ", ".join(entry.ai_act)),
        ("aisec tests", ", ".join(entry.tests) or "none yet"),
        ("planned tests", ", ".join(entry.planned_tests) or "-"),
        (
            "defences",
            "\n".join(m.name + (f" ({m.atlas})" if m.atlas else "") for m in entry.defences),
        ),
        (
            "controls",
            "\n".join(m.name + (f" ({m.atlas})" if m.atlas else "") for m in entry.controls),
        ),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table


def _print(catalogue: Catalogue, query: str, matches: list[ThreatEntry], console: Console) -> None:
    """One entry in full when the query names it (or matches only it), else the matches table."""
    if len(matches) == 1 or (query and query in catalogue.ids):
        entry = catalogue.get(query) if query in catalogue.ids else matches[0]
        console.print(_detail(entry))
        return
    rows = [
        [
            Text(t.id),
            Text(t.name),
            Text("\n".join(t.ids("nist")) or "-"),
            Text("\n".join(t.ids("atlas")) or "-"),
            Text("\n".join(t.ids("owasp-ml", "owasp-llm")) or "-"),
            Text("\n".join(t.ai_act)),
            Text(", ".join(t.tests) or "-"),
        ]
        for t in matches
    ]
    table = fitted_table(
        console,
        CATALOGUE_COLUMNS,
        rows,
        details_header="threat",
        title=f"Threat catalogue ({len(matches)} of {len(catalogue.threats)})",
    )
    console.print(table)
    if not matches:
        console.print("No threat matches; try a shorter query or drop --framework.")


def register(app: typer.Typer) -> None:
    """Add ``aisec taxonomy``."""

    @app.command(
        "taxonomy",
        epilog=epilog(
            "aisec taxonomy LLM01 --framework owasp-llm",
            "aisec taxonomy --format json --output catalogue.json",
        ),
    )
    @user_errors
    def taxonomy(
        query: str = typer.Argument(
            "",
            help="Text to search in ids, names, descriptions and framework IDs (default: "
            "every threat).",
        ),
        framework: str | None = typer.Option(
            None,
            "--framework",
            help="Only threats with IDs in this framework: nist, atlas, owasp-ml, owasp-llm "
            "(default: any).",
        ),
        fmt: str | None = format_option(None, FORMATS, "Output format: table (default), json."),
        output: Path | None = output_option(
            "Write the output to this file instead of stdout (the default)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Alias of --format json."),
    ) -> None:
        """Browse the threat catalogue and its crosswalk to NIST, ATLAS, OWASP and the AI Act."""
        from aisec.taxonomy import load_catalogue

        fmt = choose_format(json_alias(fmt, as_json), FORMATS, default="table")
        check_output(output)
        catalogue = load_catalogue()
        matches = catalogue.search(query, framework)
        if fmt == "json":
            write_output(json.dumps([t.to_dict() for t in matches], indent=2), output)
        elif is_stdout(output):
            _print(catalogue, query, matches, out_console)
        else:
            buffer = io.StringIO()
            _print(catalogue, query, matches, Console(file=buffer, width=160, no_color=True))
            write_output(buffer.getvalue(), output)
