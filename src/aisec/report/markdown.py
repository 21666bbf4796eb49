"""``report.md``: the same content as the HTML report, as GitHub-flavoured Markdown.

Plots and images are left out and named instead (they are in ``report.html``). Text from the
results is escaped so that it cannot break a table or inject markup; only
``ReportData.extra_markdown`` is inserted verbatim, by design.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from aisec.report import content, plots
from aisec.report.model import ReportData
from aisec.report.sections import TestSection, test_sections

_ESCAPE = re.compile(r"([\\`*\[\]<>|&])")


def escape(text: Any) -> str:
    """Escape Markdown and HTML metacharacters and fold newlines, for one line or table cell."""
    s = " ".join(str(text).split())
    return _ESCAPE.sub(r"\\\1", s)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table; cells must already be escaped."""
    if not columns:
        return []
    out = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        cells = [*row, *([""] * (len(columns) - len(row)))][: len(columns)]
        out.append("| " + " | ".join(cells) + " |")
    return [*out, ""]


def render_markdown(data: ReportData) -> str:
    """Render one run as Markdown.

    Args:
        data: The run, as loaded from the results store.

    Returns:
        The Markdown document (summary, extra sections, findings, one section per test).
    """
    lines: list[str] = [f"# aisec assessment: {escape(data.name)}", ""]
    finished = escape(data.finished) if data.finished else "not finished"
    lines += [
        f"Run `{data.run_id}` · started {escape(data.created)} · {finished} · "
        f"{data.units_done}/{data.units_total} units · aisec {escape(data.aisec_version)}",
        "",
    ]
    lines += _summary(data)
    if data.extra_markdown:
        lines += [data.extra_markdown.rstrip("\n"), ""]
    lines += _findings(data)
    lines += ["## Tests", ""]
    sections = test_sections(data, figures=False)
    if not sections:
        lines += ["No results yet.", ""]
    for s in sections:
        lines += _test(s)
    return "\n".join(lines).rstrip("\n") + "\n"


def _summary(data: ReportData) -> list[str]:
    lines = ["## Summary", "", f"**{escape(content.verdict(data))}**", ""]
    if not data.complete:
        lines += [
            f"> The run is incomplete: {data.units_done} of {data.units_total} units have "
            "results. Resume it to complete the report.",
            "",
        ]
    for w in data.warnings:
        lines += [f"> Warning: {escape(w)}", ""]
    counts = content.severity_counts(data.findings)
    lines += _table(
        [*counts.keys(), "fail on"], [[str(n) for n in counts.values()] + [data.fail_on.value]]
    )
    lines += ["### Targets", ""]
    rows = content.target_rows(data.targets)
    if rows:
        cols = ["name", "kind", "input_shape", "n_classes", "output_mode", "data", "n"]
        lines += _table(
            ["target", "kind", "input shape", "classes", "output mode", "data", "n"],
            [[escape(content.format_value(r[c])) for c in cols] for r in rows],
        )
    else:
        lines += ["No targets recorded.", ""]
    lines += ["### Tests", ""]
    status = content.status_counts(data.results)
    lines += [f"{status['ok']} ran, {status['skipped']} skipped, {status['error']} failed.", ""]
    columns = content.headline_columns(data.results)
    rows_t = []
    for r in data.results:
        h = content.headline(r)
        rows_t.append(
            [
                escape(r.test_id),
                escape(r.target),
                r.status.value,
                *(escape(content.format_metric(c, h[c])) if c in h else "" for c in columns),
                str(len(content.findings_for(r, data.findings))),
                content.format_value(r.seconds),
            ]
        )
    if rows_t:
        lines += _table(
            [
                "test",
                "target",
                "status",
                *(escape(content.label(c)) for c in columns),
                "findings",
                "seconds",
            ],
            rows_t,
        )
    not_ok = [r for r in data.results if content.is_bad_status(r)]
    if not_ok:
        lines += ["### Skipped or failed", ""]
        lines += [
            f"- {escape(r.test_id)} on {escape(r.target)} ({r.status.value}): "
            f"{escape(r.message or 'no reason given')}"
            for r in not_ok
        ]
        lines.append("")
    return lines


def _findings(data: ReportData) -> list[str]:
    lines = ["## Findings", ""]
    if not data.findings:
        return [*lines, "No findings.", ""]
    rows = []
    for f in data.findings:
        evidence = "; ".join(f"{k}: {content.format_any(k, v)}" for k, v in f.evidence.items())
        title = f.title + (f" (at {f.location})" if f.location else "")
        rows.append(
            [
                f.severity.value.upper(),
                escape(f.rule),
                escape(title),
                escape(f.target),
                escape(evidence),
                escape(f.recommendation),
                escape(", ".join(f.threats)),
            ]
        )
    return lines + _table(
        ["severity", "rule", "title", "target", "evidence", "recommendation", "threats"], rows
    )


def _test(s: TestSection) -> list[str]:
    r = s.result
    lines = [f"### {escape(s.title)} ({s.status})", ""]
    if r.message:
        lines += [f"> {escape(r.message)}", ""]
    if s.kind == "sanity":
        lines += ["Sanity checks against gradient masking.", ""]
    elif s.kind == "scan":
        lines += ["Static scan of model and data files.", ""]
    if s.params:
        lines += [
            "Parameters: " + ", ".join(f"`{k}`={escape(v)}" for k, v in s.params),
            "",
        ]
    if s.status == "ok":
        lines += [f"Took {content.format_value(r.seconds)} s, seed {r.seed}.", ""]
        if s.layout.scalars:
            lines += _table(
                ["metric", "value"],
                [[escape(k), escape(content.format_metric(k, v))] for k, v in s.layout.scalars],
            )
        for t in s.layout.tables:
            lines += [f"**{escape(t.caption)}**", ""]
            lines += _table(
                [escape(c) for c in t.columns],
                [
                    [
                        escape(content.format_metric(f"{c} {t.name}", v))
                        for c, v in zip(t.columns, row, strict=False)
                    ]
                    for row in t.rows
                ],
            )
        if s.layout.other:
            lines += _table(
                ["metric", "value"], [[escape(k), escape(v)] for k, v in s.layout.other]
            )
        figures = [f.caption for f in s.figures]
        figures += [p.caption for p in s.patches]
        if any(
            k in r.artifacts and plots.is_image_batch(np.asarray(r.artifacts[k]))
            for k in ("x_adv", "examples")
        ):
            figures.append("adversarial examples")
        if figures:
            lines += ["Figures in report.html: " + "; ".join(escape(f) for f in figures) + ".", ""]
    if s.findings:
        lines += ["Findings from this test:", ""]
        lines += [f"- {f.severity.value.upper()} `{f.rule}` {escape(f.title)}" for f in s.findings]
        lines.append("")
    return lines
