"""Entry point of the ``aisec`` command: builds the Typer app from the command modules."""

from __future__ import annotations

import typer

from aisec import __version__
from aisec.cli import (
    assess,
    bom,
    demo,
    evade,
    listing,
    manifest,
    report,
    scan,
    taxonomy,
    threats,
)
from aisec.cli.common import EXIT_FINDINGS, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE
from aisec.cli.output import epilog

app = typer.Typer(
    name="aisec",
    help="Cybersecurity of AI systems: threat model, attacks, defences, metrics and reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    epilog=epilog(
        "aisec demo --quick",
        "aisec scan models/ --fail-on high",
        "aisec list",
        exit_codes=f"{EXIT_OK} ok, {EXIT_FINDINGS} findings at or above --fail-on (assess, "
        f"report, scan) or integrity differences (manifest verify), {EXIT_USAGE} usage or "
        f"input error, {EXIT_INCONCLUSIVE} inconclusive: no unit produced evidence (assess, "
        "report); each command's --help lists its own",
    ),
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


# Each module defines ``register(app)`` that adds its commands, in this order in ``--help``.
# None imports PyTorch at module level: the commands that need it import it when they run.
for _module in (demo, assess, evade, report, listing, scan, manifest, bom, threats, taxonomy):
    _module.register(app)


def run() -> None:
    """Console-script entry point."""
    app()
