"""report.md: the same sections as the HTML report, as Markdown tables."""

from __future__ import annotations

import re

from aisec.records import Result, Status
from aisec.report.markdown import escape, render_markdown


def _headings(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("#")]


def test_sections_in_order(report_data) -> None:
    md = render_markdown(report_data)
    heads = _headings(md)
    assert heads[0] == "# aisec assessment: digits \\<demo\\> \\& co"
    order = ["## Summary", "## Threat model", "## Findings", "## Tests"]
    positions = [heads.index(h) for h in order]
    assert positions == sorted(positions)
    tests = [h for h in heads if h.startswith("### evasion.")]
    assert tests == [
        "### evasion.pgd on digits-cnn (ok)",
        "### evasion.fgsm on digits-cnn (ok)",
        "### evasion.square on digits-cnn (skipped)",
        "### evasion.cw on digits-cnn (error)",
    ]
    assert "derived and ranked" in md  # extra_markdown verbatim, after the summary


def test_summary_findings_and_metrics(report_data) -> None:
    md = render_markdown(report_data)
    pgd = report_data.results[0]
    row = next(line for line in md.splitlines() if line.startswith("| evasion.pgd | digits-cnn |"))
    assert f"{pgd.metrics['robust_accuracy']:.1%}" in row
    assert f"{pgd.metrics['clean_accuracy']:.1%}" in row
    for f in report_data.findings:
        assert f"| {f.severity.value.upper()} | {f.rule} |" in md
    curve_rows = [f"| {p['eps']:g} | {p['robust_accuracy']:.1%} |" for p in pgd.metrics["curve"]]
    for r in curve_rows:
        assert r in md
    assert "needs scores \\| the target is \\<label_only\\>" in md
    assert "diverged: loss became NaN at step 3" in md
    assert "Figures in report.html: Robust accuracy as a function of eps (linf)" in md


def _tables(md: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks


def _cells(line: str) -> int:
    return len(re.split(r"(?<!\\)\|", line))


def test_tables_keep_their_shape_whatever_the_text(report_data, shaped_data, data_factory) -> None:
    nasty = "a|b\nc <i>x</i> `code` [link](http://x) \\| end"
    result = Result(
        test_id="evasion.fgsm",
        target=nasty,
        status=Status.SKIPPED,
        message=nasty,
        params={"eps": nasty},
    )
    md_nasty = render_markdown(data_factory([result], [], [{"name": nasty, "kind": nasty}]))
    assert "a\\|b c \\<i\\>x\\</i\\>" in md_nasty
    assert "<i>" not in md_nasty and "[link]" not in md_nasty
    for md in (md_nasty, render_markdown(report_data), render_markdown(shaped_data)):
        tables = _tables(md)
        assert tables
        for table in tables:
            assert re.fullmatch(r"\|(---\|)+", table[1]), table[1]
            assert {_cells(line) for line in table} == {_cells(table[0])}, table
    assert escape("x|y") == "x\\|y" and escape("a\n b") == "a b"


def test_shaped_results_render(shaped_data) -> None:
    md = render_markdown(shaped_data)
    for expected in (
        "**Ensemble stages (each attacks only the points still robust)**",
        "| apgd-t | 6.2% | 4 |",
        "**Black-box query cost per sample**",
        "| mean | 321.5 |",
        "**Patch success per transformation**",
        "| rotation | 75.0% |",
        "Adversarial patch (3×8×8)",
        "**Sanity checks against gradient masking**",
        "| SAN-005 | zero-gradients | FAIL | fraction=0.4 |",
        "CRITICAL `SCN-010` Pickle imports os.system",
        "**FAIL: 2 findings at or above high (worst: critical).**",
    ):
        assert expected in md, expected
