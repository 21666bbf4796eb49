"""write_reports: the files, their formats, and clear errors."""

from __future__ import annotations

import json
import sys
import types

import jsonschema
import pytest

from aisec.errors import AisecError
from aisec.report.html import render_html
from aisec.report.json_report import schema
from aisec.report.markdown import render_markdown
from aisec.report.sarif import report_to_sarif
from aisec.report.writer import write_reports


def test_writes_each_format(report_data, tmp_path) -> None:
    out = tmp_path / "nested" / "reports"
    paths = write_reports(report_data, out)
    assert paths == {
        "html": out / "report.html",
        "json": out / "report.json",
        "md": out / "report.md",
        "sarif": out / "report.sarif",
    }
    assert sorted(p.name for p in out.iterdir()) == [
        "report.html",
        "report.json",
        "report.md",
        "report.sarif",
    ]
    doc = json.loads(paths["json"].read_text("utf-8"))
    jsonschema.Draft202012Validator(schema()).validate(doc)
    assert paths["html"].read_text("utf-8") == render_html(report_data)
    assert paths["md"].read_text("utf-8") == render_markdown(report_data)
    sarif = json.loads(paths["sarif"].read_text("utf-8"))
    assert sarif == report_to_sarif(report_data, tool_name="aisec")
    assert oct(paths["json"].stat().st_mode & 0o777) == "0o644"


def test_sarif_uses_the_sarif_renderer(report_data, tmp_path, monkeypatch) -> None:
    calls = []

    def report_to_sarif(data, tool_name="aisec"):
        calls.append((list(data.findings), tool_name))
        return {"version": "2.1.0", "runs": [{"results": [f.rule for f in data.findings]}]}

    module = types.ModuleType("aisec.report.sarif")
    module.report_to_sarif = report_to_sarif  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "aisec.report.sarif", module)
    paths = write_reports(report_data, tmp_path, formats=("sarif", "json"))
    assert set(paths) == {"sarif", "json"}
    sarif = json.loads(paths["sarif"].read_text("utf-8"))
    assert sarif["runs"][0]["results"] == [f.rule for f in report_data.findings]
    assert calls == [(list(report_data.findings), "aisec")]


def test_unknown_format_and_unwritable_folder(report_data, tmp_path) -> None:
    with pytest.raises(AisecError, match=r"Unknown report format 'pdf'; choose from html, json"):
        write_reports(report_data, tmp_path, formats=("html", "pdf"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AisecError, match="Cannot create the report folder"):
        write_reports(report_data, blocker / "sub", formats=("md",))
    assert not list((tmp_path).glob(".report*"))


def test_rewrite_replaces_old_reports(report_data, data_factory, tmp_path) -> None:
    write_reports(report_data, tmp_path, formats=("json",))
    partial = data_factory(
        report_data.results[:1], [], report_data.targets, units_total=4, finished=None
    )
    path = write_reports(partial, tmp_path, formats=("json",))["json"]
    doc = json.loads(path.read_text("utf-8"))
    assert doc["run"]["units_done"] == 1 and doc["run"]["complete"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_real_sarif_renderer(report_data, tmp_path) -> None:
    pytest.importorskip("aisec.report.sarif")
    path = write_reports(report_data, tmp_path, formats=("sarif",))["sarif"]
    doc = json.loads(path.read_text("utf-8"))
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == sorted(f.rule for f in report_data.findings)
