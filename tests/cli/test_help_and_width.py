"""Every command's ``--help`` has a one-line summary, an example, its defaults and its exit
codes; the tables the CLI prints stay readable at 80 columns, as in a CI log."""

from __future__ import annotations

import io
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from aisec.cli.common import EXIT_OK, EXIT_USAGE
from aisec.cli.main import app
from aisec.cli.output import EXAMPLE_HEADING, EXIT_CODES_HEADING

AISEC = [sys.executable, "-m", "aisec.cli"]
WIDTH = 80
BOX = str.maketrans("", "", "│╭╮╰╯─┃┏┓┗┛━")
"""Frame characters of Typer's help panels, removed before matching."""


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group of the app, with its path (the root's is empty)."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


COMMANDS = list(walk(typer.main.get_command(app)))
"""The registered commands, read from the app: a new one is checked without editing this file."""


def help_text(path: tuple[str, ...]) -> str:
    """``aisec PATH --help``, frames removed and whitespace collapsed."""
    r = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    return " ".join(r.stdout.translate(BOX).split())


def shown_default(param: Any) -> str | None:
    """What Click prints in ``[default: ...]`` for ``param``; None when it shows nothing."""
    default = param.default
    if default is None or default == [] or default == "" or param.required:
        return None
    if getattr(param, "is_flag", False):
        if not param.secondary_opts:
            return None  # a bare flag: off unless given
        return (param.opts if default else param.secondary_opts)[0].lstrip("-")
    return str(default)


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    for expected in (
        "",
        "assess",
        "evade",
        "scan",
        "bom",
        "threats",
        "taxonomy",
        "list",
        "report",
        "demo",
        "manifest",
        "manifest create",
        "manifest verify",
        "manifest keygen",
    ):
        assert expected in names


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "aisec" for p, _ in COMMANDS]
)
def test_help_has_a_summary_an_example_and_the_exit_codes(path, command) -> None:
    text = help_text(path)
    summary = (command.help or "").strip().split("\n\n")[0]
    assert summary and "\n" not in summary, f"the summary of {path} is not one line: {summary!r}"
    assert " ".join(summary.split()) in text
    invocation = " ".join(("aisec", *path))
    assert f"{EXAMPLE_HEADING} {invocation}" in text, text
    assert f"{EXIT_CODES_HEADING} {EXIT_OK} " in text, text
    assert f"{EXIT_USAGE} usage or input error" in text, text


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "aisec" for p, _ in COMMANDS]
)
def test_help_gives_every_default(path, command) -> None:
    text = help_text(path)
    for param in command.params:
        if param.required:
            continue
        shown = shown_default(param)
        if shown is not None:
            assert param.show_default, param.name
            assert f"[default: {shown}]" in text, (param.name, text)
            continue
        if getattr(param, "is_flag", False) and not param.secondary_opts:
            continue  # a bare flag: off unless given
        help_ = param.help or ""
        if help_.startswith("Alias of"):
            continue  # its default is that of the options it stands for
        assert "default" in help_.lower(), f"{' '.join(path)} {param.name}: {help_!r}"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("evade",), ["[default: pgd]", "[default: 0,1]", "[default: 0]", "(default: inferred)"]),
        (("scan",), ["[default: high]"]),
        (("assess",), ["[default: aisec-report]", "[default: progress]", "default: all)"]),
        (("bom",), ["[default: environment]", "(default: first model's name)"]),
        (("manifest", "create"), ["(default: DIR/aisec-manifest.json)"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_help_shows_sample_defaults(path: tuple[str, ...], expected: list[str]) -> None:
    text = help_text(path)
    for fragment in expected:
        assert fragment in text, (fragment, text)


# --- tables at 80 columns ------------------------------------------------------------------------
def run_at_80(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``aisec ARGS`` in a fresh process whose output is a pipe (not a terminal), COLUMNS=80."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env |= {"COLUMNS": str(WIDTH), "NO_COLOR": "1"}
    return subprocess.run(
        [*AISEC, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def assert_fits(output: str) -> None:
    """No line wider than 80 characters and nothing cut with an ellipsis."""
    too_long = [line for line in output.splitlines() if len(line) > WIDTH]
    assert not too_long, "\n".join(too_long)
    assert "…" not in output, output


def assert_whole(ids: list[str], output: str) -> None:
    """Each id appears unbroken, as a word of its own."""
    for name in ids:
        pattern = rf"(?<![\w.-]){re.escape(name)}(?![\w-])"
        assert re.search(pattern, output), f"{name} not found whole in:\n{output}"


def test_list_fits_80_columns_with_every_test_id_whole() -> None:
    from aisec.registry import available_tests
    from aisec.targets.builtin import available_targets

    r = run_at_80("list")
    assert r.returncode == 0, r.stderr
    assert_fits(r.stdout)
    assert_whole(list(available_tests()), r.stdout)
    assert_whole(list(available_targets()), r.stdout)
    # threats and defaults move under each id, so every default is still listed
    assert "defaults: eps=0.1" in r.stdout and "threats: evasion-digital" in r.stdout


def test_taxonomy_fits_80_columns_with_every_threat_id_whole() -> None:
    from aisec.taxonomy import load_catalogue

    r = run_at_80("taxonomy")
    assert r.returncode == 0, r.stderr
    assert_fits(r.stdout)
    catalogue = load_catalogue()
    assert_whole(list(catalogue.ids), r.stdout)
    assert_whole(sorted({t for entry in catalogue.threats for t in entry.tests}), r.stdout)
    one = run_at_80("taxonomy", "evasion-digital")
    assert one.returncode == 0, one.stderr
    assert_fits(one.stdout)


def test_threats_summary_fits_80_columns_with_every_threat_id_whole() -> None:
    from aisec.threat import derive_threats, load_profile

    r = run_at_80("threats", "-p", "builtin:digits-classifier", "-f", "json")
    assert r.returncode == 0, r.stderr
    table = "\n".join(ln for ln in r.stderr.splitlines() if not ln.startswith("note: "))
    assert_fits(table)
    tm = derive_threats(load_profile("builtin:digits-classifier"))
    assert_whole([t.id for t in tm.threats], table)
    assert_whole(sorted({test for t in tm.threats for test in t.tests}), table)


class _RunsCommand:
    """Pickles as a call to ``os.system`` (never unpickled: only the scanner reads it)."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("echo pwned",))


def test_scan_table_fits_80_columns_with_file_names_and_rules_whole(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "classifier-with-a-long-name.pkl").write_bytes(pickle.dumps(_RunsCommand()))
    np.save(models / "clean.npy", np.zeros(3))
    r = run_at_80("scan", "models", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert_fits(r.stderr)
    assert_whole(["models/classifier-with-a-long-name.pkl", "SCN-001"], r.stderr)


def test_assessment_summary_fits_80_columns_and_shows_more_when_wide() -> None:
    from aisec.cli.summary import print_summary
    from aisec.records import Finding, Result, Severity
    from aisec.report.model import ReportData

    results = [
        Result.skipped("supplychain.manifest", "digits-logreg", "no files", seconds=1.5),
        Result.error("evasion.corruptions", "digits-cnn", "diverged"),
    ]
    findings = [
        Finding(
            id="EVA-001:digits-cnn:evasion.pgd",
            rule="EVA-001",
            title="Robust accuracy 0.02 at eps 0.1 is far below the threshold the plan sets",
            severity=Severity.HIGH,
            target="digits-cnn",
        )
    ]
    data = ReportData(
        run_id="run-0001",
        name="digits",
        created="2026-01-01T00:00:00+00:00",
        finished=None,
        aisec_version="0",
        config={},
        targets=[],
        results=results,
        findings=findings,
        units_total=2,
        units_done=2,
    )

    def render(width: int) -> str:
        buffer = io.StringIO()
        print_summary(data, Console(file=buffer, width=width, no_color=True))
        return buffer.getvalue()

    narrow = render(WIDTH)
    assert_fits(narrow)
    assert_whole(
        ["supplychain.manifest", "evasion.corruptions", "digits-logreg", "EVA-001"], narrow
    )
    wide = render(160)
    assert "seconds" in wide and "seconds" not in narrow
    assert "supplychain.manifest │ digits-logreg │ skipped" in wide


def test_a_name_wider_than_the_console_folds_instead_of_being_cut() -> None:
    from aisec.cli.tables import Col, fitted_table

    name = "a-very-long-identifier-that-cannot-fit-in-forty-columns-at-all"
    console = Console(file=io.StringIO(), width=40, no_color=True)
    console.print(fitted_table(console, (Col("id", key=True), Col("note")), [[name, "text"]]))
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert_fits(output)
    cells = "".join(line.split("│")[1].strip() for line in output.splitlines() if "│" in line)
    assert name in cells
