"""Findings are computed once, when a unit runs, and stored with its result and unit key."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
import yaml

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.assessment.reporting import load_report_data
from aisec.attacks.evasion.base import EVA_001
from aisec.records import Severity
from aisec.records.evasion import EvasionOutcome
from aisec.report.html import render_html
from aisec.report.json_report import report_dict
from aisec.threat import build_risk_register, derive_threats, load_profile

CONFIG = """
name: two-pgd-units
seed: 1
sanity_checks: false
targets:
  - name: cnn
    builtin: digits-cnn
    data: builtin:digits:test
    limit: 60
tests:
  - id: evasion.pgd
    params: {eps: 0.1, norm: linf, steps: 10}
  - id: evasion.pgd
    params: {eps: 1.0, norm: l2, steps: 10}
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """One run of two PGD units (L-inf and L2) on one target, in a real SQLite store."""
    path = tmp_path_factory.mktemp("store") / "results.db"
    with ResultStore(path) as store:
        outcome = run_assessment(
            parse_config(yaml.safe_load(CONFIG), "test"), store, progress=False
        )
    return path, outcome.run_id


def _sections(html: str) -> dict[str, str]:
    """The HTML of each result's section, by its test's unit order."""
    parts = re.split(r'<section class="test result-\w+" id="', html)[1:]
    return {p.split('"', 1)[0]: p for p in parts}


def test_two_units_of_one_test_keep_their_own_findings(stored) -> None:
    path, run_id = stored
    with ResultStore(path) as store:
        data = load_report_data(store, run_id)
    linf, l2 = data.results
    assert linf.unit != l2.unit
    assert [f.unit for f in linf.findings] == [linf.unit]
    assert [f.unit for f in l2.findings] == [l2.unit]
    own = {linf.unit: linf.findings[0].id, l2.unit: l2.findings[0].id}
    assert own[linf.unit] != own[l2.unit]

    titles = {linf.unit: linf.findings[0].title, l2.unit: l2.findings[0].title}
    sections = list(_sections(render_html(data)).values())
    assert len(sections) == 2
    for section, result in zip(sections, data.results, strict=True):
        mine, other = titles[result.unit], titles[({linf.unit, l2.unit} - {result.unit}).pop()]
        assert mine in section and other not in section

    doc = report_dict(data)
    for entry, result in zip(doc["results"], data.results, strict=True):
        assert [f["id"] for f in entry["findings"]] == [own[result.unit]]
        assert entry["unit"] == result.unit

    tm = derive_threats(load_profile("builtin:digits-classifier"))
    register = build_risk_register(tm, data.results, data.findings)
    evidence = register.get("evasion-digital").evidence
    refs = [e["id"] for e in evidence if e["kind"] == "result"]
    assert len(refs) == 2 and len(set(refs)) == 2
    units = {e["unit"] for e in evidence if e["kind"] == "finding"}
    assert units == {linf.unit, l2.unit}


def test_reports_show_the_stored_findings_not_re_derived_ones(stored, monkeypatch) -> None:
    path, run_id = stored
    with ResultStore(path) as store:
        before = load_report_data(store, run_id)
    severities = [f.severity for f in before.findings]
    assert Severity.MEDIUM in severities and Severity.INFO not in severities
    # rules whose thresholds changed since (here: every drop is info) must not rewrite this run
    monkeypatch.setattr(EVA_001, "thresholds", {})
    assert EVA_001.severity(0.99) is Severity.INFO
    with ResultStore(path) as store:
        after = load_report_data(store, run_id)
    assert [f.severity for f in after.findings] == severities
    assert after.failed == before.failed
    assert render_html(after).count("sev-medium") == render_html(before).count("sev-medium")


def test_results_stored_by_an_earlier_version_load_typed_and_re_derive(
    stored, tmp_path, monkeypatch
) -> None:
    path, run_id = stored
    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(path) as src, sqlite3.connect(legacy) as dst:
        src.backup(dst)
        for key, js in dst.execute("SELECT unit_key, result_json FROM units").fetchall():
            d = json.loads(js)
            for k in ("findings", "outcome_kind", "unit", "queries"):
                d.pop(k)
            dst.execute("UPDATE units SET result_json = ? WHERE unit_key = ?", (json.dumps(d), key))
    monkeypatch.setattr(EVA_001, "thresholds", {Severity.CRITICAL: 0.0})
    with ResultStore(legacy) as store:
        data = load_report_data(store, run_id)
    assert all(isinstance(r.outcome, EvasionOutcome) for r in data.results)
    assert {f.severity for f in data.findings} == {Severity.CRITICAL}  # the installed rules
    assert {f.unit for f in data.findings} == {r.unit for r in data.results}
    assert any("derived again with the rules" in w for w in data.warnings)
