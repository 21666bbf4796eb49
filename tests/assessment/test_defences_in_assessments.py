"""``defence.evasion`` in an assessment: the trade-off is stored with its findings, and the
reports show the table, the clean-against-robust plot and the certified-accuracy curve."""

from __future__ import annotations

import json
from pathlib import Path

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.assessment.reporting import load_report_data
from aisec.report.writer import write_reports


def test_defence_trade_off_through_the_assessment(tmp_path: Path) -> None:
    config = parse_config(
        {
            "name": "defences",
            "targets": [{"name": "mlp", "builtin": "digits-mlp"}],
            "tests": [
                {
                    "id": "defence.evasion",
                    "params": {
                        "defences": ["pgd-at", "noise", "bit-depth"],
                        "eps": 0.15,
                        "curve": [0.3],
                        "epochs": 20,
                        "limit": 30,
                        "sanity_limit": 24,
                        "certify_limit": 10,
                        "certify_n": 100,
                    },
                    "targets": ["mlp"],
                }
            ],
        }
    )
    store = ResultStore(tmp_path / "r.db")
    run = run_assessment(config, store, progress=False)
    ((_, result),) = list(store.results(run.run_id))
    assert result.ok, result.message
    o = result.outcome
    assert [r.defence for r in o.rows] == ["none", "pgd-at", "noise", "bit-depth"]
    assert o.rows[2].certified_curve and o.sigma == 0.25
    for row in o.rows:  # a larger budget never leaves more robust points
        (point,) = row.curve
        assert point.eps == 0.3 and point.robust_accuracy <= row.clean_accuracy
    rules = {f.rule for f in result.findings}
    assert rules == {"HRD-001", "HRD-002"}
    paths = write_reports(
        load_report_data(store, run.run_id), tmp_path / "out", ["html", "json", "md", "sarif"]
    )
    assert paths
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Clean against robust accuracy" in html
    assert "Certified accuracy of the smoothed model" in html
    assert "Robust accuracy over the linf budget per defence" in html
    assert "bit-depth (bits 3)" in html and "masks gradients" in html
    md = (tmp_path / "out" / "report.md").read_text()
    assert "pgd-at linf 0.15" in md
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {"HRD-001", "HRD-002"} <= {f["rule"] for f in doc["findings"]}
    sarif = json.loads((tmp_path / "out" / "report.sarif").read_text())
    ids = {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {"HRD-001", "HRD-002"} <= ids
