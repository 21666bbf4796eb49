"""Renderers never fail on metrics they do not know: any JSON-like value renders in every format."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aisec.records import Finding, Result, Severity, Status
from aisec.report.html import render_html
from aisec.report.json_report import render_json, schema
from aisec.report.markdown import render_markdown

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)
_known_keys = st.sampled_from(
    ["curve", "stages", "queries", "per_transformation", "accuracy", "severities", "checks"]
)
_metrics = st.dictionaries(_known_keys | st.text(max_size=10), _values, max_size=6)


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    metrics=_metrics,
    evidence=st.dictionaries(st.text(max_size=8), _values, max_size=4),
    status=st.sampled_from(list(Status)),
    n=st.integers(0, 6),
)
def test_any_metrics_render_in_every_format(
    metrics, evidence, status, n, data_factory, html_parser
) -> None:
    rng = np.random.default_rng(n)
    result = Result(
        test_id="custom.test",
        target="t",
        status=status,
        params={"p": metrics.get("curve")},
        metrics=metrics,
        per_sample={"success": rng.random(n) < 0.5, "l2": rng.random(n), "queries": np.arange(n)},
        artifacts={"x_adv": rng.random((n, 1, 4, 4)).astype(np.float32)},
        message="m" if status is not Status.OK else "",
    )
    finding = Finding(
        id="F",
        rule="R-1",
        title="t",
        severity=Severity.MEDIUM,
        target="t",
        evidence=evidence,
        test_id="custom.test",
    )
    data = data_factory([result], [finding], [{"name": "t", "bounds": [0, 1]}])
    page = html_parser(render_html(data))
    assert page.errors == [] and page.stack == []
    assert "custom.test on t" in render_markdown(data)
    doc = json.loads(render_json(data))
    jsonschema.Draft202012Validator(schema()).validate(doc)
