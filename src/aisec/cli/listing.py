"""``aisec list``: registered tests, built-in targets and built-in data sets."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
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

FORMATS = ("table", "json")
"""Output formats of ``aisec list``."""


TEST_COLUMNS = (
    Col("id", key=True),
    Col("family", optional=True),
    Col("needs"),
    Col("threats", detail=True),
    Col("defaults", detail=True),
)
"""Columns of the tests table: at 80 columns, threats and defaults become lines under the id."""


def _print_tables(
    tests: dict[str, dict[str, Any]],
    targets: dict[str, dict[str, str]],
    datasets: dict[str, str],
    console: Console,
) -> None:
    """The tests, built-in targets and data sets as three tables on ``console``."""
    rows = []
    for k, d in tests.items():
        defaults = ", ".join(f"{a}={b}" for a, b in d["defaults"].items() if b is not None)
        rows.append(
            [
                Text(k),
                Text(d["family"]),
                Text(", ".join(d["requires"]) or "-"),
                Text("\n".join(d["threats"])),
                Text(defaults),
            ]
        )
    console.print(fitted_table(console, TEST_COLUMNS, rows, title="Tests"))
    console.print(
        fitted_table(
            console,
            (Col("name", key=True), Col("data set", key=True), Col("description")),
            [[Text(k), Text(d["dataset"]), Text(d["description"])] for k, d in targets.items()],
            title="Built-in targets",
        )
    )
    console.print(
        fitted_table(
            console,
            (Col("name", key=True), Col("description")),
            [[Text(k), Text(v)] for k, v in datasets.items()],
            title="Built-in data sets (use builtin:NAME[:train|test|all])",
        )
    )


def register(app: typer.Typer) -> None:
    """Add ``aisec list``."""

    @app.command("list", epilog=epilog("aisec list --format json --output catalogue.json"))
    @user_errors
    def list_(
        fmt: str | None = format_option(None, FORMATS, "Output format: table (default), json."),
        output: Path | None = output_option(
            "Write the output to this file instead of stdout (the default)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Alias of --format json."),
    ) -> None:
        """List the tests an assessment can run, the built-in targets and the built-in data sets."""
        from aisec import registry
        from aisec.data import available_datasets
        from aisec.targets import builtin

        fmt = choose_format(json_alias(fmt, as_json), FORMATS, default="table")
        check_output(output)
        tests = {k: v.describe() for k, v in registry.available_tests().items()}
        for line in [*registry.missing_extras(), *builtin.missing_extras()]:
            typer.echo(f"note: {line}", err=True)
        targets = {
            k: {"description": v.description, "dataset": v.dataset}
            for k, v in builtin.available_targets().items()
        }
        from aisec.targets.builtin.llm import llm_available

        if llm_available():
            targets["support-bot"] = {
                "description": "SmolLM2-135M-Instruct as a bank's support bot (chat: "
                "builtin:support-bot; the bare model: builtin:smollm2)",
                "dataset": "-",
            }
        datasets = available_datasets()
        if fmt == "json":
            doc = {"tests": tests, "targets": targets, "datasets": datasets}
            write_output(json.dumps(doc, indent=2, default=str), output)
        elif is_stdout(output):
            _print_tables(tests, targets, datasets, out_console)
        else:
            buffer = io.StringIO()
            _print_tables(tests, targets, datasets, Console(file=buffer, width=160, no_color=True))
            write_output(buffer.getvalue(), output)
        for line in [*registry.missing_extras(), *builtin.missing_extras()]:
            typer.echo(f"note: {line}", err=True)
