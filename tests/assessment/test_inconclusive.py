"""A verdict needs evidence: a run where every unit was skipped or failed is INCONCLUSIVE."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from aisec.assessment import ResultStore, parse_config, run_assessment
from aisec.assessment.reporting import load_report_data
from aisec.report.content import verdict

# White-box attacks on a target that reveals labels only: every unit is skipped.
CONFIG = """
name: nothing-measured
sanity_checks: false
targets:
  - name: api
    builtin: digits-cnn
    output_mode: label_only
    limit: 20
tests:
  - id: evasion.pgd
    params: {eps: 0.1}
  - id: evasion.fgsm
    params: {eps: 0.1}
"""


def test_all_skipped_is_inconclusive_and_warns(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "r.db") as store:
        run = run_assessment(parse_config(yaml.safe_load(CONFIG)), store, progress=False)
        data = load_report_data(store, run.run_id)
    assert {r.status.value for r in data.results} == {"skipped"}
    assert data.inconclusive and not data.failed
    assert verdict(data).startswith("INCONCLUSIVE: no unit produced evidence (2 skipped")
    skipped = [w for w in data.warnings if "was skipped" in w]
    assert len(skipped) == 2 and "needs gradients" in skipped[0]


def test_the_cli_exits_3_on_an_inconclusive_run(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG)
    r = subprocess.run(
        [sys.executable, "-m", "aisec.cli", "assess", str(cfg), "--store", str(tmp_path / "r.db"),
         "--output", str(tmp_path / "out"), "--no-progress"],
        capture_output=True, text=True, env=os.environ.copy(), timeout=600,
    )  # fmt: skip
    assert r.returncode == 3, r.stderr
    assert "INCONCLUSIVE" in r.stderr and "Traceback" not in r.stderr
