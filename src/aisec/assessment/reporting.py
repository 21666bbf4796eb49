"""Assemble :class:`~aisec.report.model.ReportData` for a stored run (threat model included)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from aisec import __version__
from aisec.assessment.config import AssessmentConfig, parse_config
from aisec.assessment.resources import build_data
from aisec.assessment.runner import collect_findings
from aisec.assessment.store import ResultStore
from aisec.errors import AisecError
from aisec.records import Finding, Result, Severity, Status
from aisec.report.model import ReportData

log = logging.getLogger(__name__)


def load_report_data(store: ResultStore, run_id: str) -> ReportData:
    """Everything the reports need about ``run_id``, from the store alone."""
    info = store.run(run_id)
    results = [r for _, r in store.results(run_id)]
    findings = collect_findings(results)
    config = parse_config(info.config, "stored config")
    warnings: list[str] = []
    for r in results:
        if r.status is Status.SKIPPED:
            warnings.append(f"{r.test_id} on {r.target} was skipped: {r.message}")
        elif r.status is Status.ERROR:
            warnings.append(f"{r.test_id} on {r.target} failed: {r.message}")
    rederived = [r for r in results if r.ok and not r.findings_stored]
    if rederived:
        warnings.append(
            f"{len(rederived)} result(s) were stored without their findings (by aisec "
            f"{info.aisec_version}); their findings were derived again with the rules of aisec "
            f"{__version__}."
        )
    if info.units_done < info.units_total:
        warnings.append(
            f"Incomplete run: {info.units_done} of {info.units_total} units stored; "
            f"resume with `aisec assess CONFIG --resume {run_id}`."
        )
    threat = (
        _threat_sections(config.profile, results, findings, config.targets)
        if config.profile
        else {}
    )
    return ReportData(
        run_id=info.run_id,
        name=info.name,
        created=info.created,
        finished=info.finished,
        aisec_version=info.aisec_version,
        config=info.config,
        targets=list(info.context.get("targets", [])),
        results=results,
        findings=findings,
        units_total=info.units_total,
        units_done=info.units_done,
        fail_on=Severity.parse(config.fail_on),
        warnings=warnings,
        inputs=_clean_inputs(config),
        **threat,
    )


def _threat_sections(
    profile_ref: str, results: list[Result], findings: list[Finding], targets: Any = ()
) -> dict[str, Any]:
    """Threat model, risk register and Art. 15 evidence from the profile and the evidence."""
    from aisec.report.threat_markdown import threat_markdown_sections
    from aisec.report.threat_sections import threat_html_sections
    from aisec.threat import ai_act_evidence, build_risk_register, derive_threats, load_profile

    tm = derive_threats(load_profile(profile_ref))
    register = build_risk_register(tm, results, findings, targets)
    ai = ai_act_evidence(tm, results, findings, register)
    return {
        "threat_model": tm.to_dict(),
        "risk_register": register.to_dict(),
        "ai_act": ai.to_dict(),
        "extra_html": threat_html_sections(tm, register, ai),
        "extra_markdown": threat_markdown_sections(tm, register, ai),
    }


def _clean_inputs(config: AssessmentConfig) -> dict[str, np.ndarray]:
    """Each target's evaluation inputs (as the tests saw them), for side-by-side examples."""
    out: dict[str, np.ndarray] = {}
    for tc in config.targets:
        if tc.chat:
            continue
        try:
            out[tc.name] = build_data(tc, config.seed).x
        except AisecError as exc:  # data moved since the run: the report shows adversarials alone
            log.warning("clean inputs of %s unavailable: %s", tc.name, exc)
    return out
