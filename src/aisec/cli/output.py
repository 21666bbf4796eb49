"""The ``--format`` and ``--output`` options every command shares, and where output goes.

Each command that produces machine-readable output takes ``--format/-f`` (the formats it
supports) and ``--output/-o PATH`` (a file instead of stdout; for the report-writing commands,
the report folder). Older spellings (``--json``, ``--out``) stay as aliases. An unknown format
is a one-line ``aisec: error:`` and exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from aisec.cli.common import EXIT_FINDINGS, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE, fail

STDOUT = "-"
"""``--output -`` means stdout."""


def format_option(default: str | None, formats: Sequence[str], help: str | None = None) -> Any:
    """The ``--format/-f`` option offering ``formats``."""
    import typer

    text = help or f"Output format: {', '.join(formats)}."
    return typer.Option(default, "--format", "-f", help=text)


def output_option(help: str, *aliases: str, default: Path | None = None) -> Any:
    """The ``--output/-o PATH`` option, with older spellings (e.g. ``--out``) as ``aliases``."""
    import typer

    return typer.Option(default, "--output", "-o", *aliases, help=help)


def choose_format(value: str | None, formats: Sequence[str], *, default: str) -> str:
    """``value`` (lower-cased) when it is one of ``formats``, ``default`` when it is None.

    Raises:
        typer.Exit: Code 2 after one line naming the allowed formats.
    """
    if value is None:
        return default
    fmt = value.strip().lower()
    if fmt not in formats:
        raise fail(f"--format must be one of {', '.join(formats)}; got {value!r}")
    return fmt


def json_alias(fmt: str | None, as_json: bool) -> str | None:
    """Resolve the ``--json`` flag, an alias of ``--format json``; a contradiction is an error."""
    if not as_json:
        return fmt
    if fmt is not None and fmt.strip().lower() != "json":
        raise fail(f"--json means --format json; drop --json or --format {fmt}")
    return "json"


def choose_formats(values: Iterable[str] | None, formats: Sequence[str]) -> list[str]:
    """Several formats, repeated (``-f html -f md``) or comma-separated; all when none is given.

    Raises:
        typer.Exit: Code 2 after one line naming the allowed formats.
    """
    wanted = [p.strip().lower() for v in values or [] for p in str(v).split(",") if p.strip()]
    if not wanted:
        return list(formats)
    unknown = [w for w in wanted if w not in formats]
    if unknown:
        raise fail(
            f"--format must be one of {', '.join(formats)} (repeat or comma-separate); "
            f"got {', '.join(map(repr, unknown))}"
        )
    return [f for f in formats if f in wanted]


def is_stdout(output: Path | None) -> bool:
    """True when output goes to stdout (no ``--output``, or ``--output -``)."""
    return output is None or str(output) == STDOUT


def check_output(output: Path | None) -> None:
    """Fail early (exit 2, one line) when ``--output`` names a file in a missing folder."""
    if is_stdout(output):
        return
    assert output is not None
    if output.is_dir():
        raise fail(f"--output {str(output)!r} is a folder; name a file")
    if not output.parent.is_dir():
        raise fail(f"folder {str(output.parent)!r} does not exist; create it or change --output")


def write_output(text: str, output: Path | None) -> None:
    """Write ``text`` to the ``--output`` file, or to stdout when there is none (or ``-``)."""
    if not text.endswith("\n"):
        text += "\n"
    if is_stdout(output):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    assert output is not None
    check_output(output)
    output.write_text(text, encoding="utf-8")


OK_EXIT = f"{EXIT_OK} ok, {EXIT_USAGE} usage or input error"
"""Exit codes of the commands that report no findings."""

FINDINGS_EXIT = (
    f"{EXIT_OK} ok, {EXIT_FINDINGS} findings at or above --fail-on, "
    f"{EXIT_USAGE} usage or input error, "
    f"{EXIT_INCONCLUSIVE} inconclusive (no unit produced evidence)"
)
"""Exit codes of the commands with ``--fail-on`` that run an assessment."""

SCAN_EXIT = (
    f"{EXIT_OK} no finding at or above --fail-on, {EXIT_FINDINGS} findings at or above "
    f"--fail-on, {EXIT_USAGE} usage or input error"
)
"""Exit codes of ``aisec scan``."""

EXAMPLE_HEADING = "Example:"
"""Heading of each example paragraph in ``--help`` (the tests look for it)."""
EXIT_CODES_HEADING = "Exit codes:"
"""Heading of the exit-codes paragraph in ``--help`` (the tests look for it)."""


def epilog(*examples: str, exit_codes: str = OK_EXIT) -> str:
    """Help epilog with example invocations and the exit codes (one paragraph each)."""
    lines = [f"{EXAMPLE_HEADING} {e}" for e in examples]
    return "\n\n".join([*lines, f"{EXIT_CODES_HEADING} {exit_codes}."])
