"""``aisec threats`` and ``aisec taxonomy`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from aisec.assessment.config import load_config
from aisec.cli.main import app
from aisec.taxonomy import load_catalogue

runner = CliRunner()


def test_threats_json_on_stdout() -> None:
    res = runner.invoke(app, ["threats", "--profile", "builtin:llm-agent", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data) == {"profile", "threats", "plan", "notes"}
    by_id = {t["id"]: t for t in data["threats"]}
    assert by_id["prompt-injection-indirect"]["applicable"] is True
    assert by_id["evasion-physical"]["applicable"] is False


def test_threats_writes_html_and_an_assessment_config(tmp_path: Path) -> None:
    out, cfg = tmp_path / "tm.html", tmp_path / "plan.yaml"
    res = runner.invoke(
        app,
        [
            "threats",
            "-p",
            "builtin:digits-classifier",
            "-f",
            "html",
            "-o",
            str(out),
            "--emit-config",
            str(cfg),
        ],
    )
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and '<section id="threat-model">' in html
    config = load_config(cfg)
    assert config.profile == "builtin:digits-classifier"
    assert config.tests[0].id == "evasion.pgd"
    assert yaml.safe_load(cfg.read_text())["tests"][0]["params"]["eps"] == 0.1


def test_threats_markdown_from_a_profile_file(tmp_path: Path) -> None:
    f = tmp_path / "cam.yaml"
    f.write_text(
        "name: cam\ntechnology: deep-learning\ntask: classification\nmodality: image\n"
        "exposure: [physical-world]\noutputs: [label]\n"
    )
    res = runner.invoke(app, ["threats", "--profile", str(f)])
    assert res.exit_code == 0, res.output
    assert "# Threat model: cam" in res.stdout and "| evasion-physical | yes |" in res.stdout


def test_threats_user_errors_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["threats", "--profile", "builtin:digits-classifier", "--format", "pdf"]
    )
    assert res.exit_code == 2 and "--format must be one of md, json, html" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ntechnology: quantum\ntask: classification\nmodality: image\n"
        "exposure: [internal]\noutputs: [label]\n"
    )
    res = runner.invoke(app, ["threats", "--profile", str(bad)])
    assert res.exit_code == 2 and "`technology` must be one of 'classical-ml'" in res.output


def test_taxonomy_browse_search_and_detail() -> None:
    res = runner.invoke(app, ["taxonomy", "--json"])
    assert res.exit_code == 0 and len(json.loads(res.stdout)) >= 17
    res = runner.invoke(app, ["taxonomy", "LLM07", "--json"])
    assert [t["id"] for t in json.loads(res.stdout)] == ["sensitive-data-leakage"]
    res = runner.invoke(app, ["taxonomy", "membership-inference"])
    assert res.exit_code == 0 and "NISTAML.033" in res.stdout and "ML04:2023" in res.stdout
    res = runner.invoke(app, ["taxonomy", "--framework", "owasp-llm"])
    expected = len(load_catalogue().search("", framework="owasp-llm"))
    assert res.exit_code == 0 and f"Threat catalogue ({expected} of" in res.stdout
    assert "natural-cor" not in res.stdout
    res = runner.invoke(app, ["taxonomy", "x", "--framework", "iso"])
    assert res.exit_code == 2 and "unknown framework 'iso'" in res.output


BAD_NEW_FIELDS = [
    (
        "model_hosting: cloud\n",
        "`model_hosting` must be one of 'self-hosted' or 'provider-api'; got 'cloud'",
    ),
    ("model_hosting: provider-api\n", "`model_hosting: provider-api` is for applications"),
    ("biometric: fingerprint\n", "`biometric` must be one of 'none'"),
    ("software_sources: [ftp]\n", "`software_sources` must be one of 'public-package-index'"),
    ("model_value: priceless\n", "`model_value` must be one of 'low'"),
    ("model_formats: [tflite2]\n", "'tflite', 'coreml' or 'other'; got 'tflite2'"),
    ("outputs: [generated-code]\n", "`outputs: generated-code` needs `technology: large-model`"),
    ("tools: [{name: web, reads: true}]\n", "unknown field `tools.reads`"),
    ("tools: [{reads_untrusted: true}]\n", "`tools.name` is required"),
    ("targets: [{name: t, builtin: digits-cnn, stand_in: maybe}]\n", "targets[0].stand_in"),
]


def test_new_profile_fields_reject_bad_values_in_one_line(tmp_path: Path) -> None:
    for i, (extra, message) in enumerate(BAD_NEW_FIELDS):
        bad = tmp_path / f"bad{i}.yaml"
        lines = "name: x\ntechnology: deep-learning\ntask: classification\nmodality: image\n"
        lines += "exposure: [internal]\n"
        lines += "" if extra.startswith("outputs") else "outputs: [label]\n"
        bad.write_text(lines + extra)
        res = runner.invoke(app, ["threats", "--profile", str(bad)])
        assert res.exit_code == 2, (extra, res.output)
        assert message in res.output, (extra, res.output)
        assert "Traceback" not in res.output
