"""Privacy tests in an assessment: splits reach the units, results are stored with findings,
the report shows the ROC, the trade-off table and the extraction curve."""

from __future__ import annotations

import json
from pathlib import Path

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.assessment.reporting import load_report_data
from aisec.report.writer import write_reports


def test_membership_trade_off_and_extraction_on_builtins(tmp_path: Path) -> None:
    config = parse_config(
        {
            "name": "privacy",
            "targets": [{"name": "mlp", "builtin": "digits-mlp"}],
            "tests": [
                {
                    "id": "inference.membership",
                    "params": {"attack": "rmia", "references": 2},
                    "targets": ["mlp"],
                },
                {
                    "id": "inference.output-modes",
                    "params": {
                        "attack": "rmia",
                        "references": 2,
                        "modes": ["probabilities", "label_only"],
                        "budget": 100,
                        "n_augment": 4,
                    },
                    "targets": ["mlp"],
                },
                {
                    "id": "extraction.knockoff",
                    "params": {"budget": 200, "epochs": 20, "curve": [0.5, 1.0]},
                    "targets": ["mlp"],
                },
            ],
        }
    )
    store = ResultStore(tmp_path / "r.db")
    run = run_assessment(config, store, progress=False)
    results = {r.test_id: r for _, r in store.results(run.run_id)}
    assert {k: r.outcome.kind for k, r in results.items() if r.outcome is not None} == {
        "inference.membership": "membership",
        "inference.output-modes": "output-modes",
        "extraction.knockoff": "extraction",
    }
    mia = results["inference.membership"].outcome
    assert mia.n_members == mia.n_non_members == 450  # digits' whole test split
    assert {f.rule for f in results["inference.membership"].findings} == {"MIA-001"}
    paths = write_reports(load_report_data(store, run.run_id), tmp_path / "out", ["html", "json"])
    html = (tmp_path / "out" / "report.html").read_text()
    assert "ROC of the rmia attack on log-log axes" in html
    assert "per output mode" in html and "label_only" in html
    assert "Substitute fidelity and accuracy over queries" in html
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert any(f["rule"] == "EXT-001" for f in doc["findings"])
    assert paths
