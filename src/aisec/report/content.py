"""What every report shows, independent of its format.

The JSON, HTML and Markdown renderers all read one run through these helpers, so the three
formats agree on the verdict, the headline metrics of each test and how an unknown metric is
laid out. Nothing here draws or formats markup: values stay plain Python data.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aisec.records import Finding, Result, Severity, Status, jsonable
from aisec.report.model import ReportData

SEVERITIES: tuple[Severity, ...] = (
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFO,
)
"""Severities, most severe first (the order of every table)."""

HEADLINE_KEYS: tuple[str, ...] = (
    "n",
    "eps",
    "norm",
    "targeted",
    "clean_accuracy",
    "robust_accuracy",
    "attack_success_rate",
    "mean_linf",
    "mean_l2",
    "median_l2",
    "queries_mean",
    "minimal_perturbation_median",
)
"""Headline metrics, in the order the summary tables show them (when a test reports them)."""

HEADLINE_LABELS: dict[str, str] = {
    "n": "n",
    "eps": "eps",
    "norm": "norm",
    "targeted": "targeted",
    "clean_accuracy": "clean acc.",
    "robust_accuracy": "robust acc.",
    "attack_success_rate": "attack success",
    "mean_linf": "mean L∞",
    "mean_l2": "mean L2",
    "median_l2": "median L2",
    "queries_mean": "mean queries",
    "minimal_perturbation_median": "median min. norm",
}
"""Column titles of the headline metrics."""

SANITY_TEST_ID = "evasion.sanity"
"""Test id of the gradient-masking sanity checks."""
SCAN_TEST_ID = "supplychain.scan"
"""Test id of the supply-chain scanner."""


# -- run level -------------------------------------------------------------------------------
def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Number of findings per severity name, every severity present, most severe first."""
    counts = {s.value: 0 for s in SEVERITIES}
    for f in findings:
        counts[f.severity.value] += 1
    return counts


def status_counts(results: Iterable[Result]) -> dict[str, int]:
    """Number of results per status (ok, skipped, error)."""
    counts = {s.value: 0 for s in Status}
    for r in results:
        counts[r.status.value] += 1
    return counts


def verdict(data: ReportData) -> str:
    """One sentence: does the run fail its ``fail_on`` threshold, and why."""
    worst = data.max_severity
    threshold = data.fail_on.value
    if data.failed:
        assert worst is not None
        n = sum(1 for f in data.findings if f.severity >= data.fail_on)
        return (
            f"FAIL: {n} finding{'s' if n != 1 else ''} at or above {threshold} "
            f"(worst: {worst.value})."
        )
    if data.inconclusive:
        counts = status_counts(data.results)
        return (
            f"INCONCLUSIVE: no unit produced evidence ({counts['skipped']} skipped, "
            f"{counts['error']} failed, of {data.units_total})."
        )
    if worst is None:
        return f"PASS: no findings (threshold: {threshold})."
    return f"PASS: no finding at or above {threshold} (worst: {worst.value})."


# -- per result ------------------------------------------------------------------------------
def is_scalar(value: Any) -> bool:
    """True for values shown in one table cell (numbers, strings, booleans, None)."""
    return value is None or isinstance(value, (str, bool, int, float, np.generic))


def headline(result: Result) -> dict[str, Any]:
    """The metrics the summary shows for one result, as its outcome's view gives them."""
    from aisec.report.views import view_for

    return view_for(result).headline(result)


def per_sample_summary(per_sample: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Summarise each per-sample array as count, mean, min, median, max (no arrays)."""
    out: dict[str, dict[str, Any]] = {}
    for name, values in per_sample.items():
        arr = np.asarray(values)
        entry: dict[str, Any] = {"n": int(arr.size), "dtype": _dtype_kind(arr)}
        if arr.dtype == bool:
            entry["count_true"] = int(arr.sum())
            entry["mean"] = float(arr.mean()) if arr.size else None
        elif arr.dtype.kind in "iuf" and arr.size:
            finite = arr[np.isfinite(arr)].astype(np.float64)
            entry["n_finite"] = int(finite.size)
            if finite.size:
                entry.update(
                    mean=float(finite.mean()),
                    min=float(finite.min()),
                    median=float(np.median(finite)),
                    max=float(finite.max()),
                )
        out[str(name)] = entry
    return out


def _dtype_kind(arr: np.ndarray) -> str:
    if arr.dtype == bool:
        return "bool"
    if arr.dtype.kind in "iu":
        return "int"
    if arr.dtype.kind == "f":
        return "float"
    return "other"


def artifact_summary(artifacts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Shape and dtype of each artefact (the arrays themselves stay in the store)."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in artifacts.items():
        arr = np.asarray(value)
        out[str(name)] = {"shape": [int(d) for d in arr.shape], "dtype": str(arr.dtype)}
    return out


def findings_for(result: Result, findings: Sequence[Finding]) -> list[Finding]:
    """Findings produced by ``result``: those of its unit of work.

    Results and findings without a unit key (made outside the runner by earlier versions)
    fall back to matching test id and target.
    """
    if result.unit:
        return [f for f in findings if f.unit == result.unit]
    return [f for f in findings if f.test_id == result.test_id and f.target == result.target]


def slugs(results: Sequence[Result]) -> list[str]:
    """A unique, HTML-id-safe anchor per result: ``test-<test id>-<target>``."""
    seen: dict[str, int] = {}
    out = []
    for r in results:
        base = "test-" + _slug(f"{r.test_id}-{r.target}")
        k = seen.get(base, 0) + 1
        seen[base] = k
        out.append(base if k == 1 else f"{base}-{k}")
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "result"


# -- generic metric layout -------------------------------------------------------------------
@dataclass
class Table:
    """A metric laid out as a table: a caption, column names and rows of cells."""

    name: str
    """Metric key the table comes from (e.g. ``stages``)."""
    caption: str
    """Title shown above the table."""
    columns: list[str]
    """Column names."""
    rows: list[list[Any]]
    """Cells, one list per row, plain JSON values."""


@dataclass
class MetricLayout:
    """How one result's metrics are shown: scalars, tables and long values."""

    scalars: list[tuple[str, Any]] = field(default_factory=list)
    """Top-level scalar metrics, as (key, value) pairs."""
    tables: list[Table] = field(default_factory=list)
    """List-of-dict and dict metrics, each as a table (known metrics first)."""
    other: list[tuple[str, str]] = field(default_factory=list)
    """Anything else, as (key, compact JSON text)."""


CAPTIONS: dict[str, str] = {
    "curve": "Security-evaluation curve: robust accuracy per eps",
    "stages": "Ensemble stages (each attacks only the points still robust)",
    "queries": "Black-box query cost per sample",
    "per_transformation": "Patch success per transformation",
    "minimal_perturbation": "Minimal adversarial perturbation",
    "checks": "Sanity checks against gradient masking",
}
"""Captions of well-known metrics; any other metric is captioned by its key."""

_TABLE_ORDER = ("stages", "curve", "queries", "minimal_perturbation", "per_transformation")
_MAX_ROWS = 200
_MAX_TEXT = 400


def layout_metrics(metrics: Mapping[str, Any]) -> MetricLayout:
    """Arrange arbitrary metrics for display; never fails on unknown shapes."""
    out = MetricLayout()
    tables: list[Table] = []
    for key, raw in metrics.items():
        key = str(key)
        value = jsonable(raw)
        table = as_table(key, value, series_columns=_series_columns(metrics))
        if is_scalar(value):
            out.scalars.append((key, value))
        elif table is not None:
            tables.append(table)
        elif isinstance(value, list) and all(is_scalar(v) for v in value) and len(value) <= 20:
            out.scalars.append((key, format_any(key, value)))
        else:
            out.other.append((key, format_any(key, value)))
    rank = {k: i for i, k in enumerate(_TABLE_ORDER)}
    out.tables = sorted(tables, key=lambda t: rank.get(t.name, len(rank)))
    return out


def _series_columns(metrics: Mapping[str, Any]) -> list[str] | None:
    sev = metrics.get("severities")
    if isinstance(sev, (list, tuple)) and sev and all(is_scalar(v) for v in sev):
        return [f"severity {format_value(v)}" for v in sev]
    return None


def as_table(key: str, value: Any, series_columns: list[str] | None = None) -> Table | None:
    """Lay out a list of dicts, a dict of dicts, a dict of equal-length lists or a dict of
    scalars as a table, else None.

    Args:
        key: Metric name (gives the caption).
        value: The metric, already JSON-like.
        series_columns: Column names for a dict of equal-length lists (e.g. one per severity);
            positions 1..n when absent or of another length.
    """
    caption = CAPTIONS.get(key, key.replace("_", " "))
    if isinstance(value, Mapping) and value and _equal_series(value):
        n = len(next(iter(value.values())))
        cols = series_columns if series_columns and len(series_columns) == n else None
        cols = cols or [str(i + 1) for i in range(n)]
        rows = [[str(k), *v] for k, v in list(value.items())[:_MAX_ROWS]]
        return Table(key, caption, ["name", *cols], rows)
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        columns: list[str] = []
        for row in value:
            for k in row:
                if str(k) not in columns:
                    columns.append(str(k))
        rows = [[_cell(row.get(c)) for c in columns] for row in value[:_MAX_ROWS]]
        return Table(key, caption, columns, rows)
    if isinstance(value, Mapping) and value:
        if all(isinstance(v, Mapping) for v in value.values()):
            columns = []
            for row in value.values():
                for k in row:
                    if str(k) not in columns:
                        columns.append(str(k))
            rows = [
                [str(name), *(_cell(row.get(c)) for c in columns)]
                for name, row in list(value.items())[:_MAX_ROWS]
            ]
            return Table(key, caption, ["name", *columns], rows)
        if all(is_scalar(v) for v in value.values()):
            rows = [[str(k), v] for k, v in list(value.items())[:_MAX_ROWS]]
            return Table(key, caption, ["name", "value"], rows)
        rows = [[str(k), _cell(v)] for k, v in list(value.items())[:_MAX_ROWS]]
        return Table(key, caption, ["name", "value"], rows)
    return None


def _equal_series(value: Mapping[str, Any]) -> bool:
    lists = list(value.values())
    return (
        all(isinstance(v, list) and 0 < len(v) <= 20 for v in lists)
        and len({len(v) for v in lists}) == 1
        and all(is_scalar(x) for v in lists for x in v)
    )


def _cell(value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        # nested records (e.g. a file's scan findings) are shown elsewhere or kept in report.json
        return f"{len(value)} record{'s' if len(value) != 1 else ''} (in report.json)"
    return value if is_scalar(value) else format_any("", value)


def compact_json(value: Any) -> str:
    """Compact JSON text of any value, shortened for display."""
    try:
        text = json.dumps(jsonable(value), separators=(",", ":"), sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def format_value(value: Any) -> str:
    """Text of one cell: floats with 4 significant digits, booleans as yes/no, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return "–"
        if v == 0:
            return "0"
        return f"{v:.4g}"
    return str(value)


def label(key: str) -> str:
    """Column title of a headline metric (its key when not a known one)."""
    return HEADLINE_LABELS.get(key, key.replace("_", " "))


def headline_columns(results: Sequence[Result]) -> list[str]:
    """Headline keys reported by at least one result, in display order.

    ``n`` and ``targeted`` stay in report.json but are left out of the summary tables, which
    are wide enough already (each test's section shows them).
    """
    present: list[str] = []
    heads = [headline(r) for r in results]
    for key in HEADLINE_KEYS:
        if key not in SUMMARY_HIDDEN and any(key in h for h in heads):
            present.append(key)
    for h in heads:
        for key in h:
            if key not in present and key not in SUMMARY_HIDDEN:
                present.append(key)
    return present


SUMMARY_HIDDEN: tuple[str, ...] = ("n", "targeted")
"""Headline keys the summary tables leave out."""


def target_rows(targets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per target: name, kind, input shape, classes, output mode, data."""
    rows = []
    for t in targets:
        data = t.get("data") if isinstance(t.get("data"), Mapping) else {}
        shape = t.get("input_shape")
        rows.append(
            {
                "name": t.get("name", "?"),
                "kind": t.get("kind", ""),
                "input_shape": "×".join(str(d) for d in shape) if isinstance(shape, list) else "",
                "n_classes": t.get("n_classes"),
                "output_mode": t.get("output_mode", ""),
                "data": (data or {}).get("name", ""),
                "n": (data or {}).get("n"),
            }
        )
    return rows


def is_bad_status(result: Result) -> bool:
    """True for skipped or failed results."""
    return result.status is not Status.OK


def format_metric(key: Any, value: Any) -> str:
    """Text of a metric cell: rates and accuracies in [0, 1] as percentages, pass/FAIL for
    check outcomes (``passed``), else :func:`format_value`."""
    k = str(key).lower()
    if isinstance(value, (bool, np.bool_)) and k.split(" ")[0] in ("passed", "pass"):
        return "pass" if value else "FAIL"
    if (
        isinstance(value, (float, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
        and 0.0 <= float(value) <= 1.0
        and ("accuracy" in k or k.endswith("rate") or "success" in k or k.endswith("_acc"))
    ):
        return f"{float(value):.1%}"
    return format_value(value)


def format_any(key: Any, value: Any) -> str:
    """Text of any value: a metric cell for scalars, short lists and flat records inline
    (``a=1, b=2``), anything else as compact JSON; long text is shortened."""
    value = jsonable(value)
    if is_scalar(value):
        return format_metric(key, value)
    if isinstance(value, list) and len(value) <= 20 and all(is_scalar(v) for v in value):
        text = "[" + ", ".join(format_metric(key, v) for v in value) + "]"
    elif isinstance(value, Mapping) and value and len(value) <= 20:
        text = ", ".join(f"{k}={format_any(k, v)}" for k, v in value.items())
    else:
        return compact_json(_rounded(value))
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value
