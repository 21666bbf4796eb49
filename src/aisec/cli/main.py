"""Entry point of the ``aisec`` command: builds the Typer app from the command modules.

The app is built on first use of :data:`app` (PEP 562), not when this module is imported:
:func:`run` first offers the arguments to :func:`aisec.cli.scan.run_plain`, which runs a plain
``aisec scan FILE`` without Typer, so a scan in a pre-commit hook starts in a fraction of the
time Typer (and the Pydantic it converts parameters with) takes to import.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

app: typer.Typer
"""The ``aisec`` Typer app (built on first access)."""

COMMAND_MODULES = (
    "demo",
    "assess",
    "evade",
    "forensics",
    "privacy",
    "defences",
    "probe",
    "report",
    "listing",
    "scan",
    "manifest",
    "bom",
    "threats",
    "taxonomy",
)
"""Modules of :mod:`aisec.cli` whose ``register(app)`` adds their commands, in this order in
``--help``. Each imports only what declaring its options needs; what a command runs with
(PyTorch, NumPy, the attacks, the assessment, the report renderers) it imports when it runs."""


def _version(value: bool) -> None:
    if value:
        import typer

        from aisec import __version__

        typer.echo(f"aisec {__version__}")
        raise typer.Exit(0)


def build_app() -> typer.Typer:
    """A new ``aisec`` Typer app with every command registered."""
    import typer

    from aisec.cli.common import EXIT_FINDINGS, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE
    from aisec.cli.output import epilog

    new = typer.Typer(
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

    @new.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ) -> None:
        """aisec: from threat model to attacks, metrics, risk register and reports."""

    for name in COMMAND_MODULES:
        importlib.import_module(f"aisec.cli.{name}").register(new)
    return new


def __getattr__(name: str) -> Any:
    """Build :data:`app` on first access."""
    if name == "app":
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if args[:1] == ["scan"]:
        from aisec.cli.scan import run_plain

        code = run_plain(args[1:])
        if code is not None:
            sys.exit(code)
    the_app = globals()["app"] if "app" in globals() else __getattr__("app")
    the_app()
