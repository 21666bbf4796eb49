"""``aisec scan FILE`` starts light: it imports the scanner and Rich, nothing from the attack side.

Scanners run once per file in pre-commit hooks and CI steps, so what a scan imports is the
user's latency. Each check runs ``python -X importtime -m aisec.cli scan ...`` in a fresh
process and reads the modules it imported; no check measures time (the suite runs on loaded
machines too). A plain scan runs without the Typer app (:func:`aisec.cli.scan.run_plain`), so
it must print and exit exactly as the Typer command does; anything else goes through Typer.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from safetensors.numpy import save_file

import aisec
from aisec.cli.main import app
from aisec.cli.scan import DEFAULT_FAIL_ON, PLAIN_OPTIONS, parse_plain

# ``os.system("true")`` by hand: PROTO 2, GLOBAL "os system", the argument, TUPLE1, REDUCE, STOP.
# Written to disk for the scanner only; nothing here ever unpickles it.
HOSTILE_PICKLE = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."

HEAVY = (
    "torch",
    "numpy",
    "scipy",
    "sklearn",
    "matplotlib",
    "jinja2",
    "cyclonedx",
    "pydantic",
    "typer",
    "aisec.attacks",
    "aisec.assessment",
)
"""Packages a plain scan must not import. Typer is here because it imports Pydantic to convert
parameters: a plain scan runs without either."""


def _env() -> dict[str, str]:
    """The environment for a child process running this checkout's aisec, at a fixed width."""
    env = os.environ.copy()
    src = str(Path(aisec.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    env["COLUMNS"] = "120"
    return env


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a small pickle, a small safetensors file and a hostile pickle."""
    d = tmp_path_factory.mktemp("startup")
    (d / "small.pkl").write_bytes(pickle.dumps({"weights": [0.5, 1.5], "name": "small"}))
    save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(d / "small.safetensors"))
    (d / "evil.pkl").write_bytes(HOSTILE_PICKLE)
    return d


def _imported(stderr: str) -> set[str]:
    """The modules ``python -X importtime`` reported importing."""
    return {
        line.split("|")[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["small.pkl"], 0),
        (["small.safetensors"], 0),
        (["--format", "json", "small.pkl", "small.safetensors"], 0),
        (["-f", "sarif", "evil.pkl"], 1),
    ],
    ids=["pickle", "safetensors", "json", "sarif"],
)
def test_a_plain_scan_imports_nothing_heavy(files: Path, args: list[str], exit_code: int) -> None:
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "aisec.cli", "scan", *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=files,
        timeout=300,
    )
    assert r.returncode == exit_code, r.stderr
    modules = _imported(r.stderr)
    assert "aisec.supplychain.scan" in modules, "importtime output not understood"
    assert _heavy(modules) == [], f"aisec scan {' '.join(args)} imported {_heavy(modules)}"


def test_the_importtime_parser_sees_heavy_imports() -> None:
    """The check above would notice: importing the app (Typer) is reported."""
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import aisec.cli.main as m; m.app"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "typer" in _heavy(_imported(r.stderr))


def _run(files: Path, args: list[str], *, plain: bool) -> tuple[int, str, str, str]:
    """``aisec scan ARGS`` as ``python -m aisec.cli`` (plain) or through the Typer app: the exit
    code, stdout, stderr and the ``out.txt`` it wrote, if any."""
    code = "import sys\nfrom aisec.cli.main import app\nsys.argv[0] = 'aisec'\napp()\n"
    start = ["-m", "aisec.cli"] if plain else ["-c", code]
    r = subprocess.run(
        [sys.executable, *start, "scan", *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=files,
        timeout=300,
    )
    out = files / "out.txt"
    written = out.read_text(encoding="utf-8") if out.exists() else ""
    out.unlink(missing_ok=True)
    return r.returncode, r.stdout, r.stderr, written


@pytest.mark.parametrize(
    "args",
    [
        ["small.pkl", "evil.pkl"],
        ["small.safetensors"],
        ["evil.pkl", "-f", "json", "small.pkl", "--fail-on", "critical"],
        ["--format=sarif", "evil.pkl"],
        ["--fail-on=low", "--output", "out.txt", "."],
        ["-o", "-", "-f", "table", "small.pkl"],
        ["-o", "out.txt", "--format", "json", "small.safetensors"],
        ["--fail-on", "bogus", "small.pkl"],
        ["-f", "xml", "small.pkl"],
        ["missing.pkl", "small.pkl"],
        ["-o", "no/such/folder/out.json", "small.pkl"],
    ],
    ids=lambda a: " ".join(a),
)
def test_a_plain_scan_prints_and_exits_as_the_typer_command(files: Path, args) -> None:
    assert parse_plain(args) is not None, "this case would not take the plain path"
    assert _run(files, args, plain=True) == _run(files, args, plain=False)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["small.pkl", "--help"],
        ["-h"],
        ["--", "small.pkl"],
        ["-fjson", "small.pkl"],
        ["-f=json", "small.pkl"],
        ["small.pkl", "--format"],
        ["--format", "", "small.pkl"],
        ["--output", "--format", "small.pkl"],
        [""],
        ["-"],
        ["--fail-on", "high"],
        ["--limits", "x", "small.pkl"],
        ["--form", "json", "small.pkl"],
    ],
    ids=lambda a: " ".join(a) or "nothing",
)
def test_anything_but_a_plain_scan_is_left_to_typer(args: list[str]) -> None:
    assert parse_plain(args) is None


def test_plain_arguments_are_read_as_typer_reads_them() -> None:
    assert parse_plain(["a.pkl", "-f", "json", "b/", "--fail-on=low", "-o", "-"]) == {
        "paths": [Path("a.pkl"), Path("b/")],
        "output_format": "json",
        "fail_on": "low",
        "output": Path("-"),
    }
    # The last of a repeated option wins, as in Click.
    assert parse_plain(["a", "--format", "json", "-f", "sarif"])["output_format"] == "sarif"
    assert parse_plain(["a"]) == {
        "paths": [Path("a")],
        "output_format": None,
        "fail_on": DEFAULT_FAIL_ON,
        "output": None,
    }


def test_help_and_usage_errors_go_through_typer(files: Path) -> None:
    env = _env()
    shown = subprocess.run(
        [sys.executable, "-m", "aisec.cli", "scan", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert shown.returncode == 0 and "Scan model files statically" in shown.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "aisec.cli", "scan", "--bogus", "small.pkl"],
        capture_output=True,
        text=True,
        env=env,
        cwd=files,
        timeout=300,
    )
    assert bad.returncode == 2 and "No such option" in bad.stderr, bad.stderr


def test_the_plain_options_are_the_typer_commands() -> None:
    """Every option of the Typer command is read by the plain path, with the same default."""
    command = typer.main.get_command(app).commands["scan"]  # type: ignore[attr-defined]
    arguments = [p.name for p in command.params if p.param_type_name == "argument"]
    assert arguments == ["paths"]
    options = {p.name: p for p in command.params if p.param_type_name == "option"}
    assert set(options) == set(PLAIN_OPTIONS.values())
    for name, param in options.items():
        assert {s for s, n in PLAIN_OPTIONS.items() if n == name} == set(param.opts), name
    assert options["fail_on"].default == DEFAULT_FAIL_ON
    assert options["output_format"].default is None and options["output"].default is None
