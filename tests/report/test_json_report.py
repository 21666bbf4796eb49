"""report.json: versioned, schema-valid, summarised, and identical when rendered from the store."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from aisec.records import Result, Severity
from aisec.report.json_report import SCHEMA_VERSION, render_json, report_dict, schema

DOCS_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "report-schema.json"


def _validate(doc: dict) -> None:
    jsonschema.Draft202012Validator(schema()).validate(doc)


def test_packaged_schema_equals_docs_schema() -> None:
    assert json.loads(DOCS_SCHEMA.read_text("utf-8")) == schema()
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION == "1.0"


def test_report_json_validates_and_carries_the_run(report_data, real_results) -> None:
    doc = report_dict(report_data)
    _validate(doc)
    assert doc["schema_version"] == "1.0"
    assert doc["run"] == {
        "id": "run-0001",
        "name": "digits <demo> & co",
        "created": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:01:00+00:00",
        "complete": True,
        "units_total": 4,
        "units_done": 4,
    }
    assert [r["status"] for r in doc["results"]] == ["ok", "ok", "skipped", "error"]
    assert doc["results"][2]["message"].startswith("needs scores")
    assert doc["threat_model"] == {"threats": [{"id": "evasion-digital", "applicable": True}]}
    assert doc["risk_register"] == {"entries": []}
    assert doc["ai_act"] is None
    pgd, _ = real_results
    pgd_result = pgd[0]
    head = doc["summary"]["tests"][0]["headline"]
    assert head["robust_accuracy"] == pgd_result.metrics["robust_accuracy"]
    assert head["clean_accuracy"] == pgd_result.metrics["clean_accuracy"]
    assert head["attack_success_rate"] == pgd_result.metrics["attack_success_rate"]
    assert [p["eps"] for p in doc["results"][0]["metrics"]["curve"]] == [0.05, 0.1, 0.2]


def test_summary_counts_and_verdict_follow_the_findings(report_data, data_factory) -> None:
    findings = report_data.findings
    assert findings, "EVA-001 always yields a finding at a configured budget"
    doc = report_dict(report_data)
    counts = doc["summary"]["severity_counts"]
    assert sum(counts.values()) == len(findings) == doc["summary"]["findings_total"]
    for sev in Severity:
        assert counts[sev.value] == sum(f.severity is sev for f in findings)
    worst = max(f.severity.rank for f in findings)
    assert Severity(doc["summary"]["worst_severity"]).rank == worst
    for fail_on in Severity:
        data = data_factory(report_data.results, findings, report_data.targets, fail_on=fail_on)
        summary = report_dict(data)["summary"]
        assert summary["fail_on"] == fail_on.value
        assert summary["failed"] is (worst >= fail_on.rank)
        assert summary["verdict"].startswith("FAIL" if summary["failed"] else "PASS")
    empty = report_dict(data_factory([], [], [], units_total=3, units_done=0, finished=None))
    _validate(empty)
    assert empty["summary"]["worst_severity"] is None and empty["summary"]["failed"] is False
    assert empty["run"]["complete"] is False


def test_per_sample_arrays_are_summarised_not_copied(report_data) -> None:
    doc = report_dict(report_data)
    pgd = report_data.results[0]
    ps = doc["results"][0]["per_sample"]
    assert ps["success"] == {
        "n": len(pgd.per_sample["success"]),
        "dtype": "bool",
        "count_true": int(pgd.per_sample["success"].sum()),
        "mean": float(pgd.per_sample["success"].mean()),
    }
    assert ps["linf"]["max"] == pytest.approx(float(pgd.per_sample["linf"].max()))
    assert ps["linf"]["max"] <= 0.1 + 1e-6
    x_adv = pgd.artifacts["x_adv"]
    assert doc["results"][0]["artifacts"]["x_adv"] == {
        "shape": list(x_adv.shape),
        "dtype": "float32",
    }

    def longest_list(value: object) -> int:
        if isinstance(value, list):
            return max([len(value), *(longest_list(v) for v in value)])
        if isinstance(value, dict):
            return max([0, *(longest_list(v) for v in value.values())])
        return 0

    assert longest_list(doc) < 20  # 120 samples: no per-sample array leaked into the report


def test_json_text_is_strict_and_nan_free(shaped_data) -> None:
    text = render_json(shaped_data)

    def no_constants(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    doc = json.loads(text, parse_constant=no_constants)
    _validate(doc)
    unknown = next(r for r in doc["results"] if r["test_id"] == "unknown.thing")
    assert unknown["metrics"]["nan"] is None
    assert unknown["per_sample"]["weird"] == {"n": 2, "dtype": "other"}
    assert unknown["per_sample"]["empty"] == {"n": 0, "dtype": "float"}
    assert doc["summary"]["worst_severity"] == "critical" and doc["summary"]["failed"] is True


def test_rendering_from_stored_records_gives_the_same_report(report_data, data_factory) -> None:
    """The store keeps Result.to_dict() plus artefacts; a re-render from it must not differ."""
    stored = [
        Result.from_dict(json.loads(json.dumps(r.to_dict())), dict(r.artifacts))
        for r in report_data.results
    ]
    again = data_factory(
        stored,
        list(report_data.findings),
        report_data.targets,
        extra_html=report_data.extra_html,
        extra_markdown=report_data.extra_markdown,
        threat_model=report_data.threat_model,
        risk_register=report_data.risk_register,
    )
    assert render_json(again) == render_json(report_data)


def test_schema_rejects_malformed_reports(report_data) -> None:
    good = report_dict(report_data)
    broken = []
    for mutate in (
        lambda d: d.pop("run"),
        lambda d: d.update(schema_version="2.0"),
        lambda d: d["findings"][0].update(severity="severe"),
        lambda d: d["results"][0].update(status="done"),
        lambda d: d["summary"]["severity_counts"].pop("high"),
        lambda d: d["results"][0]["per_sample"].update(success=np.zeros(3).tolist()),
    ):
        doc = copy.deepcopy(good)
        mutate(doc)
        broken.append(doc)
    for doc in broken:
        with pytest.raises(jsonschema.ValidationError):
            _validate(doc)
