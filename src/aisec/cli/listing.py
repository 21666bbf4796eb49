"""``aisec list``: registered tests, built-in targets and built-in data sets."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from aisec.cli.common import out_console, user_errors


def register(app: typer.Typer) -> None:
    """Add ``aisec list``."""

    @app.command("list")
    @user_errors
    def list_(
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
    ) -> None:
        """List the tests an assessment can run, the built-in targets and the built-in data sets."""
        from aisec import registry
        from aisec.data import available_datasets
        from aisec.targets import builtin

        tests = {k: v.describe() for k, v in registry.available_tests().items()}
        targets = {
            k: {"description": v.description, "dataset": v.dataset}
            for k, v in builtin.available_targets().items()
        }
        datasets = available_datasets()
        for line in [*registry.missing_extras(), *builtin.missing_extras()]:
            typer.echo(f"note: {line}", err=True)
        if as_json:
            typer.echo(
                json.dumps(
                    {"tests": tests, "targets": targets, "datasets": datasets},
                    indent=2,
                    default=str,
                )
            )
            return
        t = Table(title="Tests")
        for col in ("id", "family", "needs", "threats", "defaults"):
            t.add_column(col)
        for k, d in tests.items():
            defaults = ", ".join(f"{a}={b}" for a, b in d["defaults"].items() if b is not None)
            t.add_row(
                k, d["family"], ", ".join(d["requires"]) or "-", ", ".join(d["threats"]), defaults
            )
        out_console.print(t)
        bt = Table(title="Built-in targets")
        bt.add_column("name")
        bt.add_column("data set")
        bt.add_column("description")
        for k, d in targets.items():
            bt.add_row(k, d["dataset"], d["description"])
        out_console.print(bt)
        dt = Table(title="Built-in data sets (use builtin:NAME[:train|test|all])")
        dt.add_column("name")
        dt.add_column("description")
        for k, v in datasets.items():
            dt.add_row(k, v)
        out_console.print(dt)
