"""The versioned ``report.json``: one run as plain, schema-validated JSON.

The layout is described by ``docs/report-schema.json`` (a copy ships in the package, see
:func:`schema`). Per-sample arrays are summarised and artefacts are described by shape and
dtype only, so the file stays small whatever the data set size.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from aisec.records import jsonable
from aisec.report import content
from aisec.report.model import ReportData

SCHEMA_VERSION = "1.0"
"""Version of the report.json layout; bump the major part on incompatible changes."""

SCHEMA_RESOURCE = f"report-schema-{SCHEMA_VERSION}.json"
"""File name of the schema inside ``aisec.report.schema``."""


def report_dict(data: ReportData) -> dict[str, Any]:
    """The content of ``report.json`` for one run (JSON-serialisable, NaN-free).

    Args:
        data: The run, as loaded from the results store.

    Returns:
        A dict valid against :func:`schema`.
    """
    worst = data.max_severity
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "aisec_version": data.aisec_version,
        "run": {
            "id": data.run_id,
            "name": data.name,
            "created": data.created,
            "finished": data.finished,
            "complete": data.complete,
            "units_total": int(data.units_total),
            "units_done": int(data.units_done),
        },
        "config": jsonable(dict(data.config)),
        "targets": [jsonable(dict(t)) for t in data.targets],
        "summary": {
            "verdict": content.verdict(data),
            "severity_counts": content.severity_counts(data.findings),
            "findings_total": len(data.findings),
            "worst_severity": worst.value if worst is not None else None,
            "fail_on": data.fail_on.value,
            "failed": data.failed,
            "status_counts": content.status_counts(data.results),
            "tests": [
                {
                    "test_id": r.test_id,
                    "target": r.target,
                    "status": r.status.value,
                    "headline": content.headline(r),
                }
                for r in data.results
            ],
        },
        "results": [_result_dict(r) for r in data.results],
        "findings": [f.to_dict() for f in data.findings],
        "threat_model": _section(data.threat_model),
        "risk_register": _section(data.risk_register),
        "ai_act": _section(data.ai_act),
        "warnings": [str(w) for w in data.warnings],
    }
    return out


def _result_dict(result: Any) -> dict[str, Any]:
    d = result.to_dict(include_arrays=False)
    d["per_sample"] = content.per_sample_summary(result.per_sample)
    d["artifacts"] = content.artifact_summary(result.artifacts)
    return d


def _section(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else jsonable(dict(value))


def render_json(data: ReportData) -> str:
    """``report.json`` text: strict JSON (no NaN), indented, keys in a stable order."""
    return json.dumps(report_dict(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of ``report.json`` shipped in the package."""
    text = resources.files("aisec.report.schema").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return json.loads(text)
