"""Assessments: config, plan, runner, results store and the report data they produce."""

from aisec.assessment.config import AssessmentConfig, load_config, parse_config
from aisec.assessment.reporting import load_report_data
from aisec.assessment.runner import RunOutcome, run_assessment
from aisec.assessment.store import ResultStore

__all__ = [
    "AssessmentConfig",
    "ResultStore",
    "RunOutcome",
    "load_config",
    "load_report_data",
    "parse_config",
    "run_assessment",
]
