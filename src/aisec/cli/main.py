"""Entry point of the ``aisec`` command: builds the Typer app from the command modules."""

from __future__ import annotations

import importlib

import typer

from aisec import __version__

app = typer.Typer(
    name="aisec",
    help="Cybersecurity of AI systems: threat model, attacks, defences, metrics and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module defines ``register(app)`` that adds its commands.
_COMMAND_MODULES = (
    "aisec.cli.demo",
    "aisec.cli.assess",
    "aisec.cli.evade",
    "aisec.cli.report",
    "aisec.cli.listing",
    "aisec.cli.scan",
    "aisec.cli.manifest",
    "aisec.cli.bom",
    "aisec.cli.threats",
    "aisec.cli.taxonomy",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aisec {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """aisec: from threat model to attacks, metrics, risk register and reports."""


for _module in _COMMAND_MODULES:
    try:
        importlib.import_module(_module).register(app)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise


def run() -> None:
    """Console-script entry point."""
    app()
