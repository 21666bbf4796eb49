"""Shared CLI plumbing: consoles, exit codes and one-line user errors."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console

from aisec.errors import AisecError

if TYPE_CHECKING:
    import typer

# Typer is imported where an option is declared or an exit is raised, not here: a plain
# ``aisec scan FILE`` runs without it (see :func:`aisec.cli.scan.run_plain`).

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCONCLUSIVE = 3
"""No unit produced evidence: every one was skipped or failed, so there is nothing to pass."""

#: Human-facing output (summaries, tables, progress) goes to stderr; machine output to stdout.
err_console = Console(stderr=True)
out_console = Console()


def verdict_exit(failed: bool, inconclusive: bool) -> int:
    """The exit code of a run's verdict: 1 fail, 3 inconclusive, 0 pass."""
    if failed:
        return EXIT_FINDINGS
    return EXIT_INCONCLUSIVE if inconclusive else EXIT_OK


def fail(message: str) -> typer.Exit:
    """Print ``aisec: error: MESSAGE`` on stderr and return the exit to raise (code 2)."""
    import typer

    sys.stderr.write(f"aisec: error: {message}\n")
    return typer.Exit(EXIT_USAGE)


def user_errors(fn: F) -> F:
    """Decorator: turn :class:`AisecError` (and bad files) into one line on stderr, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AisecError as exc:
            raise fail(str(exc)) from None
        except FileNotFoundError as exc:
            raise fail(f"file not found: {exc.filename}") from None
        except PermissionError as exc:
            raise fail(f"permission denied: {exc.filename}") from None

    return wrapper  # type: ignore[return-value]


def threads_option() -> Any:
    """``--threads N``: CPU threads for PyTorch (default: ``AISEC_THREADS`` or half the cores)."""
    import typer

    return typer.Option(
        None,
        "--threads",
        help="CPU threads for PyTorch (default: $AISEC_THREADS, else half the cores, at least 1).",
    )
