"""Per-test sections of a report: what each result shows, as format-independent data.

:func:`test_sections` turns every result into a :class:`TestSection` (tables, figures, example
images, findings). The HTML renderer shows everything; the Markdown renderer shows the same
tables and names the figures it leaves out. Unknown metrics fall back to generic tables, and a
figure that cannot be drawn is left out rather than failing the report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aisec.records import Finding, Result, Status
from aisec.report import content, plots
from aisec.report.model import ReportData
from aisec.report.views import view_for

log = logging.getLogger(__name__)

_N_EXAMPLES = 6
_PREFERRED_VALUE_WORDS = ("success", "accuracy", "rate", "value", "score")


@dataclass
class Figure:
    """One figure: what it shows and, in HTML reports, the image itself."""

    caption: str
    """What the figure shows."""
    uri: str | None = None
    """``data:`` URI of the PNG, None when figures are not drawn."""


@dataclass
class Example:
    """One adversarial example, with its original and perturbation when known."""

    index: int
    """Position of the sample in the evaluated data."""
    adversarial: str | None
    """PNG URI of the adversarial input."""
    original: str | None = None
    """PNG URI of the clean input."""
    perturbation: str | None = None
    """PNG URI of the signed perturbation (adversarial minus original)."""
    note: str = ""
    """Short caption, e.g. the L-inf size of the perturbation."""


@dataclass
class TestSection:
    """Everything one result's section shows."""

    slug: str
    """Anchor id, ``test-<test id>-<target>``."""
    result: Result
    """The result itself."""
    title: str
    """Heading, e.g. ``evasion.pgd on digits-cnn``."""
    kind: str
    """``sanity``, ``scan`` or ``test``: selects the section's introduction."""
    params: list[tuple[str, str]]
    """Parameters as (name, compact text)."""
    layout: content.MetricLayout
    """Metrics laid out as scalars, tables and long values."""
    per_sample: list[list[Any]]
    """Rows (name, n, mean, min, median, max) summarising the per-sample arrays."""
    findings: list[Finding]
    """Findings this result produced."""
    figures: list[Figure] = field(default_factory=list)
    """Plots: robustness curve or norm distribution, query cost, per-transformation bars."""
    patches: list[Figure] = field(default_factory=list)
    """The adversarial patch as an image (and the random control patch, when stored)."""
    examples: list[Example] = field(default_factory=list)
    """A few adversarial examples next to their originals."""

    @property
    def status(self) -> str:
        """ok, skipped or error."""
        return self.result.status.value


def test_sections(data: ReportData, *, figures: bool = True) -> list[TestSection]:
    """One section per result, in plan order.

    Args:
        data: The run.
        figures: Draw plots and images (HTML); when False only their captions are kept.
    """
    bounds = {
        str(t.get("name")): _bounds(t.get("bounds")) for t in data.targets if isinstance(t, Mapping)
    }
    out = []
    for slug, result in zip(content.slugs(data.results), data.results, strict=True):
        out.append(
            _section(
                slug,
                result,
                content.findings_for(result, data.findings),
                figures=figures,
                bounds=bounds.get(result.target, (0.0, 1.0)),
                inputs=data.inputs.get(result.target),
            )
        )
    return out


def _bounds(value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        return (0.0, 1.0)
    return (lo, hi) if hi > lo else (0.0, 1.0)


def _section(
    slug: str,
    result: Result,
    findings: list[Finding],
    *,
    figures: bool,
    bounds: tuple[float, float],
    inputs: np.ndarray | None,
) -> TestSection:
    kind = {content.SANITY_TEST_ID: "sanity", content.SCAN_TEST_ID: "scan"}.get(
        result.test_id, "test"
    )
    summary = content.per_sample_summary(result.per_sample)
    section = TestSection(
        slug=slug,
        result=result,
        title=f"{result.test_id} on {result.target}",
        kind=kind,
        params=[(str(k), _param_text(v)) for k, v in result.params.items()],
        layout=content.layout_metrics(result.metrics),
        per_sample=[
            [name, s.get("n"), s.get("mean"), s.get("min"), s.get("median"), s.get("max")]
            for name, s in summary.items()
        ],
        findings=findings,
    )
    if result.status is not Status.OK:
        return section
    wanted = view_for(result).figures
    for name, build in (
        ("robustness", lambda: _robustness_figure(result, figures)),
        ("queries", lambda: _queries_figure(result, figures)),
        ("corruptions", lambda: _corruption_figure(result, figures)),
        ("bars", lambda: _bar_figures(result, figures)),
        ("patch", lambda: _patches(result, figures)),
        ("examples", lambda: _examples(result, inputs, bounds) if figures else []),
        ("own", lambda: [Figure(c, u) for c, u in view_for(result).own_figures(result, figures)]),
    ):
        if name not in wanted:
            continue
        try:
            made = build()
        except Exception:  # a figure must never break the report
            log.warning("could not draw the %s figure of %s", name, section.title, exc_info=True)
            continue
        if name == "patch":
            section.patches = made  # type: ignore[assignment]
        elif name == "examples":
            section.examples = made  # type: ignore[assignment]
        elif isinstance(made, list):
            section.figures.extend(made)
        elif made is not None:
            section.figures.append(made)
    return section


def _param_text(value: Any) -> str:
    return content.format_value(value) if content.is_scalar(value) else content.compact_json(value)


# -- figures ---------------------------------------------------------------------------------
def _robustness_figure(result: Result, draw: bool) -> Figure | None:
    """The most informative robustness view the result supports.

    A curve over several budgets first; then, for minimum-norm attacks, the distribution of
    the minimal perturbation (which is the whole curve in one figure); then the sizes of the
    successful perturbations when they vary; a single-budget curve last.
    """
    m, ps = result.metrics, result.per_sample
    norm = str(m.get("norm") or result.params.get("norm") or "")
    budget = m.get("eps", result.params.get("eps"))
    curve = m.get("curve")
    points = _curve_points(curve)
    builders = []
    if len(points) >= 2:
        builders.append(lambda: _curve_figure(curve, m, norm, budget, draw))  # type: ignore[arg-type]
    builders += [
        lambda: _minimal_norm_figure(ps, norm, budget, draw),
        lambda: _success_norm_figure(ps, norm, budget, draw),
    ]
    if len(points) == 1:
        builders.append(lambda: _curve_figure(curve, m, norm, budget, draw))  # type: ignore[arg-type]
    for build in builders:
        fig = build()
        if fig is not None:
            return fig
    return None


def _curve_points(curve: Any) -> list[float]:
    if not isinstance(curve, list):
        return []
    return sorted(
        {
            float(p["eps"])
            for p in curve
            if isinstance(p, Mapping) and _num(p.get("eps")) and _num(p.get("robust_accuracy"))
        }
    )


def _curve_figure(
    curve: list[Mapping[str, Any]], m: Mapping[str, Any], norm: str, budget: Any, draw: bool
) -> Figure | None:
    caption = f"Robust accuracy as a function of eps ({norm or 'norm not given'})"
    if not draw:
        return Figure(caption)
    clean = m.get("clean_accuracy")
    uri = plots.curve_plot(
        curve,
        clean_accuracy=float(clean) if _num(clean) else None,
        norm=norm or None,
        budget=budget,
    )
    return Figure(caption, uri) if uri is not None else None


def _minimal_norm_figure(
    ps: Mapping[str, Any], norm: str, budget: Any, draw: bool
) -> Figure | None:
    if "minimal_norm" not in ps:
        return None
    values = np.asarray(ps["minimal_norm"], dtype=np.float64).ravel()
    mask = np.isfinite(values) & (values > 0)
    correct = _bool(ps.get("clean_correct"))
    if correct is not None and len(correct) == len(values):
        mask &= correct
    if not mask.any():
        return None
    caption = (
        f"Minimal adversarial {norm} perturbation per correctly classified point "
        "(empirical CDF: the fraction broken by any budget up to x)"
    )
    if not draw:
        return Figure(caption)
    uri = plots.cdf_plot(
        values[mask], xlabel=f"minimal {norm} norm".replace("  ", " "), budget=budget
    )
    return Figure(caption, uri) if uri is not None else None


def _success_norm_figure(
    ps: Mapping[str, Any], norm: str, budget: Any, draw: bool
) -> Figure | None:
    key = norm if norm in ps else next((k for k in ("linf", "l2", "l1") if k in ps), None)
    success = _bool(ps.get("success"))
    if key is None or success is None:
        return None
    values = np.asarray(ps[key], dtype=np.float64).ravel()
    if len(values) != len(success) or not success.any():
        return None
    chosen = values[success]
    chosen = chosen[np.isfinite(chosen)]
    if not chosen.size or np.ptp(chosen) <= 1e-6 * max(1.0, float(np.abs(chosen).max())):
        return None  # every perturbation has the same size (e.g. FGSM): nothing to show
    caption = f"{key} size of the successful adversarial perturbations (empirical CDF)"
    if not draw:
        return Figure(caption)
    uri = plots.cdf_plot(chosen, xlabel=f"{key} norm", budget=budget)
    return Figure(caption, uri) if uri is not None else None


def _queries_figure(result: Result, draw: bool) -> Figure | None:
    q = result.per_sample.get("queries")
    if q is None:
        return None
    values = np.asarray(q, dtype=np.float64)
    values = values[values > 0]
    if not values.size:
        return None
    caption = "Model queries spent per attacked point (empirical CDF)"
    uri = plots.cdf_plot(values, xlabel="queries") if draw else None
    return Figure(caption, uri) if uri is not None or not draw else None


def _severity_series(metrics: Mapping[str, Any]) -> tuple[list[float], dict[str, list[float]]]:
    """Accuracy per corruption and severity, from ``accuracy: {name: [per severity]}``."""
    acc = metrics.get("accuracy")
    if not isinstance(acc, Mapping) or not acc:
        return [], {}
    series = {
        str(k): [float(x) for x in v]
        for k, v in acc.items()
        if isinstance(v, list) and v and all(_num(x) for x in v)
    }
    if len(series) != len(acc) or len({len(v) for v in series.values()}) != 1:
        return [], {}
    n = len(next(iter(series.values())))
    sev = metrics.get("severities")
    if isinstance(sev, list) and len(sev) == n and all(_num(x) for x in sev):
        xs = [float(x) for x in sev]
    else:
        xs = [float(i + 1) for i in range(n)]
    return xs, series


def _corruption_figure(result: Result, draw: bool) -> Figure | None:
    xs, series = _severity_series(result.metrics)
    if not series:
        return None
    caption = "Accuracy under natural corruptions, per severity"
    if not draw:
        return Figure(caption)
    clean = result.metrics.get("clean_accuracy")
    uri = plots.lines_plot(
        xs,
        series,
        xlabel="severity",
        ylabel="accuracy",
        reference=float(clean) if _num(clean) else None,
        reference_label="clean",
    )
    return Figure(caption, uri) if uri is not None else None


def _bar_figures(result: Result, draw: bool) -> list[Figure]:
    out = []
    has_lines = bool(_severity_series(result.metrics)[1])
    for key, value in result.metrics.items():
        key = str(key)
        if key != "per_transformation" and "corruption" not in key:
            continue
        if has_lines and "corruption" in key:
            continue  # the per-severity line plot shows the same numbers
        series = bar_series(value)
        if series is None:
            continue
        labels, values, what = series
        what = key.replace("_", " ") if what == "value" else what
        caption = f"{content.CAPTIONS.get(key, key.replace('_', ' '))} ({what})"
        uri = plots.bar_plot(labels, values, ylabel=what) if draw else None
        if uri is not None or not draw:
            out.append(Figure(caption, uri))
    return out


def bar_series(value: Any) -> tuple[list[str], list[float], str] | None:
    """Labels and numbers to draw as bars from a dict or list-of-dicts metric, else None."""
    if isinstance(value, Mapping) and value:
        if all(_num(v) for v in value.values()):
            return [str(k) for k in value], [float(v) for v in value.values()], "value"
        if all(isinstance(v, Mapping) for v in value.values()):
            col = _value_column(list(value.values()))
            if col is None:
                return None
            pairs = [(str(k), v.get(col)) for k, v in value.items() if _num(v.get(col))]
            return [p[0] for p in pairs], [float(p[1]) for p in pairs], col
        return None
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        col = _value_column(value)
        if col is None:
            return None
        labels, nums = [], []
        for row in value:
            if not _num(row.get(col)):
                continue
            parts = [
                f"{k}={content.format_value(v)}" if not isinstance(v, str) else v
                for k, v in row.items()
                if k != col
                and (isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)))
            ]
            labels.append(" ".join(parts) or str(len(labels)))
            nums.append(float(row[col]))
        return (labels, nums, col) if nums else None
    return None


def _value_column(rows: Sequence[Mapping[str, Any]]) -> str | None:
    numeric = [
        str(k)
        for k in rows[0]
        if all(_num(r.get(k)) for r in rows) and not isinstance(rows[0].get(k), int)
    ]
    for word in _PREFERRED_VALUE_WORDS:
        for k in numeric:
            if word in k:
                return k
    return numeric[0] if numeric else None


def _patches(result: Result, draw: bool) -> list[Figure]:
    out = []
    for key, what in (("patch", "Adversarial patch"), ("random_patch", "Random patch (control)")):
        value = result.artifacts.get(key)
        if value is None:
            continue
        arr = np.asarray(value)
        if plots.to_hwc(arr) is None:
            continue
        caption = f"{what} ({'×'.join(str(d) for d in arr.shape)})"
        if not draw:
            out.append(Figure(caption))
            continue
        uri = plots.image_png(arr, bounds=(0.0, 1.0), min_size=128)
        if uri is not None:
            out.append(Figure(caption, uri))
    return out


def _examples(
    result: Result, inputs: np.ndarray | None, bounds: tuple[float, float]
) -> list[Example]:
    if "examples" in result.artifacts:
        return _stored_examples(result, bounds)
    x_adv = result.artifacts.get("x_adv")
    if x_adv is None or not plots.is_image_batch(np.asarray(x_adv)):
        return []
    x_adv = np.asarray(x_adv)
    success = _bool(result.per_sample.get("success"))
    if success is not None and len(success) == len(x_adv) and success.any():
        picks = np.flatnonzero(success)[:_N_EXAMPLES]
    else:
        return []
    originals = None
    if inputs is not None and np.asarray(inputs).shape == x_adv.shape:
        originals = np.asarray(inputs)
    linf = result.per_sample.get("linf")
    out = []
    for i in picks:
        i = int(i)
        ex = Example(index=i, adversarial=plots.image_png(x_adv[i], bounds=bounds))
        if originals is not None:
            ex.original = plots.image_png(originals[i], bounds=bounds)
            ex.perturbation = plots.image_png(
                x_adv[i].astype(np.float64) - originals[i], diverging=True
            )
        if linf is not None and len(linf) == len(x_adv):
            ex.note = f"#{i}, L∞ {content.format_value(float(np.asarray(linf)[i]))}"
        else:
            ex.note = f"#{i}"
        out.append(ex)
    return out


def _stored_examples(result: Result, bounds: tuple[float, float]) -> list[Example]:
    """Examples a test stored itself: ``examples`` (attacked), ``examples_clean``, labels and
    predictions (e.g. inputs with the adversarial patch applied)."""
    arts = result.artifacts
    adv = np.asarray(arts["examples"])
    if not plots.is_image_batch(adv):
        return []
    clean = arts.get("examples_clean")
    clean = np.asarray(clean) if clean is not None else None
    if clean is not None and clean.shape != adv.shape:
        clean = None
    labels = np.asarray(arts.get("example_labels", [])).ravel()
    preds = np.asarray(arts.get("example_predictions", [])).ravel()
    out = []
    for i in range(min(len(adv), _N_EXAMPLES)):
        ex = Example(index=i, adversarial=plots.image_png(adv[i], bounds=bounds))
        if clean is not None:
            ex.original = plots.image_png(clean[i], bounds=bounds)
            ex.perturbation = plots.image_png(adv[i].astype(np.float64) - clean[i], diverging=True)
        if len(labels) > i and len(preds) > i:
            ex.note = f"label {labels[i]} → {preds[i]}"
        else:
            ex.note = f"#{i}"
        out.append(ex)
    return out


def _bool(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf":
            return None
        arr = arr.astype(bool)
    return arr.ravel()


def _num(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and np.isfinite(float(value))
    )
