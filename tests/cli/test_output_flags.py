"""Every command takes ``--format`` and ``--output``; old spellings stay as aliases; an unknown
format is one ``aisec: error:`` line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aisec.assessment.config import parse_config
from aisec.records.evasion import MAX_CURVE_POINTS
from aisec.report.writer import FILE_NAMES
from cli_invoke import invoke, one_line_error

#: a small real assessment: FGSM on the built-in digits CNN, 20 samples
TINY_CONFIG = """\
name: tiny
targets:
  - name: digits-cnn
    builtin: digits-cnn
    data: builtin:digits:test
    limit: 20
tests:
  - id: evasion.fgsm
    params: {eps: 0.1}
sanity_checks: false
fail_on: critical
"""

EVADE = ["evade", "--model", "builtin:digits-cnn", "--data", "builtin:digits:test"]
EVADE_FAST = [*EVADE, "--attack", "fgsm", "--eps", "0.1", "--limit", "20"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A release folder with a clean .npz data file and an assessment config."""
    d = tmp_path_factory.mktemp("release")
    rng = np.random.default_rng(0)
    np.savez(d / "data.npz", x=rng.random((4, 1, 8, 8)).astype("float32"), y=np.arange(4))
    (d / "README").write_text("release notes\n")
    cfg = tmp_path_factory.mktemp("config") / "tiny.yaml"
    cfg.write_text(TINY_CONFIG)
    return {"folder": d, "npz": d / "data.npz", "config": cfg}


@pytest.fixture(scope="module")
def store(tmp_path_factory, files) -> Path:
    """A results store holding one run of :data:`TINY_CONFIG`."""
    db = tmp_path_factory.mktemp("store") / "results.db"
    out = db.parent / "first"
    r = invoke("assess", str(files["config"]), "--store", str(db), "-o", str(out), "--no-progress")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILE_NAMES.values())
    return db


# --- commands writing one document ------------------------------------------------------------
def test_list_json_to_a_file_and_the_json_alias(tmp_path: Path) -> None:
    out = tmp_path / "list.json"
    r = invoke("list", "--format", "json", "--output", str(out))
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    doc = json.loads(out.read_text())
    assert "evasion.pgd" in doc["tests"] and "digits-cnn" in doc["targets"]
    alias = invoke("list", "--json")
    assert alias.exit_code == 0 and json.loads(alias.stdout) == doc
    table = tmp_path / "list.txt"
    assert invoke("list", "-o", str(table)).exit_code == 0
    assert "Built-in targets" in table.read_text()


def test_taxonomy_json_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "tax.json"
    r = invoke("taxonomy", "LLM07", "-f", "json", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert [t["id"] for t in json.loads(out.read_text())] == ["sensitive-data-leakage"]
    table = tmp_path / "tax.txt"
    assert invoke("taxonomy", "membership-inference", "--output", str(table)).exit_code == 0
    assert "NISTAML.033" in table.read_text()


def test_threats_json_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "tm.json"
    r = invoke(
        "threats", "-p", "builtin:digits-classifier", "--format", "json", "--output", str(out)
    )
    assert r.exit_code == 0, r.stderr
    assert set(json.loads(out.read_text())) == {"profile", "threats", "plan", "notes"}


def test_scan_json_to_a_file(files, tmp_path: Path) -> None:
    out = tmp_path / "scan.json"
    r = invoke("scan", str(files["npz"]), "--format", "json", "--output", str(out))
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["summary"]["files"] == 1 and doc["summary"]["findings"] == 0


def test_bom_json_to_a_file(files, tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    r = invoke(
        "bom",
        "--model",
        str(files["npz"]),
        "--no-environment",
        "--format",
        "json",
        "--output",
        str(out),
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(out.read_text())["bomFormat"] == "CycloneDX"


def test_manifest_create_verify_keygen_take_format_and_output(files, tmp_path: Path) -> None:
    manifest = tmp_path / "release.manifest.json"
    r = invoke("manifest", "create", str(files["folder"]), "-f", "json", "-o", str(manifest))
    assert r.exit_code == 0, r.stderr
    assert len(json.loads(manifest.read_text())["files"]) == 2
    check = tmp_path / "check.json"
    r = invoke(
        "manifest",
        "verify",
        str(files["folder"]),
        "--manifest",
        str(manifest),
        "--format",
        "json",
        "--output",
        str(check),
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "" and json.loads(check.read_text())["ok"] is True
    text = tmp_path / "check.txt"
    r = invoke("manifest", "verify", str(files["folder"]), "-m", str(manifest), "-o", str(text))
    assert r.exit_code == 0 and "OK: 2 files in manifest" in text.read_text()
    for flag, prefix in (("--output", "a"), ("-o", "b"), ("--out", "c")):
        r = invoke("manifest", "keygen", flag, str(tmp_path / prefix))
        assert r.exit_code == 0, r.stderr
        assert (tmp_path / f"{prefix}.key.pem").is_file()


# --- evade --------------------------------------------------------------------------------------
def test_evade_json_to_a_file_with_the_registered_id(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "fgsm.json"
    args = ["--attack", "evasion.fgsm", "--eps", "0.1", "--limit", "20", "-f", "json"]
    r = invoke(*EVADE, *args, "--output", str(out))
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["attack"] == "evasion.fgsm" and doc["n"] == 20
    assert r.stdout == "" and "evasion.fgsm n=20" in r.stderr


def test_evade_json_alias_and_stdout(tmp_path: Path) -> None:
    out = tmp_path / "fgsm.json"
    r = invoke(*EVADE_FAST, "--json", str(out))
    assert r.exit_code == 0, r.stderr
    assert json.loads(out.read_text())["n"] == 20
    r = invoke(*EVADE_FAST, "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["attack"] == "evasion.fgsm"
    table = tmp_path / "fgsm.txt"
    r = invoke(*EVADE_FAST, "--output", str(table))
    assert r.exit_code == 0 and "evasion.fgsm n=20" in table.read_text()
    one_line_error(invoke(*EVADE_FAST, "--json", "x.json", "--format", "table"), "--json")


def test_evade_lists_and_checks_the_registered_attacks() -> None:
    from aisec.cli.evade import NOT_ATTACKS
    from aisec.registry import available_tests

    evasion = [k for k, v in available_tests().items() if v.family == "evasion"]
    r = invoke("evade", "--help")
    assert r.exit_code == 0
    help_text = " ".join(r.stdout.split())
    offered = help_text.split("One of:")[1].split(".")[0]
    for test_id in evasion:
        listed = test_id.removeprefix("evasion.") in offered.replace(",", " ").split()
        assert listed == (test_id not in NOT_ATTACKS), test_id
    assert "Exit codes:" in help_text and "Example: aisec evade" in help_text
    plain = " ".join(r.stdout.translate(str.maketrans("", "", "│╭╮╰╯─")).split())
    assert f"at most {MAX_CURVE_POINTS}) give a curve" in plain  # filled in when help is shown
    one_line_error(invoke(*EVADE, "--attack", "evasion.nope"), "unknown attack", "fgsm", "pgd")
    one_line_error(invoke(*EVADE_FAST, "--limit", "-3"), "--limit")
    one_line_error(invoke(*EVADE_FAST, "--bounds", "1,0"), "bounds")


# --- report-writing commands: --output names the folder, --format picks the reports -------------
def test_assess_writes_only_the_asked_formats(files, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    r = invoke(
        "assess",
        str(files["config"]),
        "--store",
        str(tmp_path / "r.db"),
        "--format",
        "json",
        "--output",
        str(out),
        "--no-progress",
    )
    assert r.exit_code == 0, r.stderr
    assert [p.name for p in out.iterdir()] == ["report.json"]
    assert json.loads((out / "report.json").read_text())["results"][0]["test_id"] == "evasion.fgsm"


def test_report_formats_and_the_out_alias(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    r = invoke("report", "--store", str(store), "--format", "json", "--output", str(out))
    assert r.exit_code == 0, r.stderr
    assert [p.name for p in out.iterdir()] == ["report.json"]
    json.loads((out / "report.json").read_text())
    old = tmp_path / "old"
    r = invoke("report", "--store", str(store), "--out", str(old), "-f", "md,sarif")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in old.iterdir()) == ["report.md", "report.sarif"]
    json.loads((old / "report.sarif").read_text())


def test_demo_takes_format_and_output(monkeypatch, tmp_path: Path) -> None:
    # The real demo takes minutes; the same command on a smaller real assessment.
    monkeypatch.setattr(
        "aisec.assessment.demo.demo_config",
        lambda quick, files_dir: parse_config(__import__("yaml").safe_load(TINY_CONFIG)),
    )
    out = tmp_path / "demo"
    r = invoke("demo", "--format", "json", "--output", str(out), "--no-progress")
    assert r.exit_code == 0, r.stderr
    assert {p.name for p in out.iterdir() if p.name.startswith("report.")} == {"report.json"}
    json.loads((out / "report.json").read_text())


# --- unknown formats ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["taxonomy"],
        ["threats", "-p", "builtin:digits-classifier"],
        ["scan", "."],
        ["bom", "--model", "model.pt"],
        ["manifest", "create", "."],
        ["manifest", "verify", "."],
        EVADE,
        ["assess", "config.yaml"],
        ["report"],
        ["demo"],
    ],
    ids=lambda a: " ".join(a[:2]) if a[0] == "manifest" else a[0],
)
def test_unknown_format_is_one_line_and_exit_2(args: list[str]) -> None:
    one_line_error(invoke(*args, "--format", "pdf"), "--format must be one of", "'pdf'")


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["taxonomy"],
        ["threats"],
        ["scan"],
        ["bom"],
        ["manifest", "create"],
        ["manifest", "verify"],
        ["manifest", "keygen"],
        ["evade"],
        ["assess"],
        ["report"],
        ["demo"],
    ],
    ids=" ".join,
)
def test_help_shows_an_example_and_the_exit_codes(command: list[str]) -> None:
    r = invoke(*command, "--help")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert f"Example: aisec {' '.join(command)}" in text and "Exit codes: 0" in text
    if command != ["manifest", "keygen"]:
        assert "--format" in text
    assert "--output" in text
