"""report.html: one self-contained, escaped page with the summary first and a section per test."""

from __future__ import annotations

import base64
import re

import numpy as np

from aisec.records import Finding, Result, Severity, Status
from aisec.report.html import render_html

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _section_images(page, html: str, slug: str) -> list[str]:
    """``src`` of the images inside the section with id ``slug``."""
    start = html.index(f'id="{slug}"')
    end = html.find('<section class="test', start + 1)
    chunk = html[start : end if end > 0 else len(html)]
    return re.findall(r'<img[^>]* src="([^"]+)"', chunk)


def test_sections_come_in_order_and_are_balanced(report_data, html_parser) -> None:
    html = render_html(report_data)
    page = html_parser(html)
    assert page.errors == [] and page.stack == []
    assert html.startswith("<!DOCTYPE html>")
    ids = page.ids()
    order = ["summary", "verdict", "threat-model", "findings", "tests"]
    assert [i for i in ids if i in order] == order
    tests = [a for a in page.find("section") if "test" in a.get("class", "").split()]
    assert [a["id"] for a in tests] == [
        "test-evasion-pgd-digits-cnn",
        "test-evasion-fgsm-digits-cnn",
        "test-evasion-square-digits-cnn",
        "test-evasion-cw-digits-cnn",
    ]
    assert [a["data-test-id"] for a in tests] == [r.test_id for r in report_data.results]
    # every summary row links to its section
    links = {a["href"] for a in page.find("a") if a.get("href", "").startswith("#test-")}
    assert links == {"#" + a["id"] for a in tests}


def test_summary_shows_verdict_counts_and_headline_metrics(report_data, html_parser) -> None:
    html = render_html(report_data)
    page = html_parser(html)
    worst = report_data.max_severity
    assert worst is not None
    verdict = "FAIL" if worst >= Severity.HIGH else "PASS"
    assert f"{verdict}:" in page.text
    pgd = report_data.results[0]
    robust = f"{pgd.metrics['robust_accuracy']:.1%}"
    start = html.index('id="tests-summary"')
    summary = html[start : html.index("</table>", start)]
    assert robust in summary and "robust acc." in summary and "mean L∞" in summary
    for finding in report_data.findings:
        assert finding.title in page.text
    assert "needs scores | the target is <label_only>" in page.text  # skipped, with its reason
    assert "diverged: loss became NaN at step 3" in page.text


def test_page_is_self_contained(report_data, shaped_data, html_parser) -> None:
    for data in (report_data, shaped_data):
        html = render_html(data)
        page = html_parser(html)
        assert not page.find("script") and "<script" not in html.lower()
        assert not page.find("link", rel="stylesheet")
        for tag, attrs in page.elements:
            for name in ("src", "href", "srcset", "action", "data"):
                value = attrs.get(name, "")
                assert not re.match(r"(?i)\s*(https?:|//|ftp:|file:)", value), (tag, name, value)
        assert "url(" not in html and "@import" not in html
        csp = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
        assert csp and "default-src 'none'" in csp[0]["content"]
        for img in page.find("img"):
            assert img["src"].startswith("data:image/png;base64,")
            assert base64.b64decode(img["src"].split(",", 1)[1]).startswith(PNG_MAGIC)


def test_robustness_plot_and_adversarial_examples(report_data, html_parser) -> None:
    html = render_html(report_data)
    page = html_parser(html)
    pgd_images = _section_images(page, html, "test-evasion-pgd-digits-cnn")
    # one curve plot plus original, adversarial and perturbation rows of the examples
    assert len(pgd_images) >= 4
    assert "Robust accuracy as a function of eps (linf)" in page.text
    pgd = report_data.results[0]
    shown = min(6, int(pgd.per_sample["success"].sum()))
    alts = [a["alt"] for a in page.find("img") if a.get("alt", "").startswith("original ")]
    assert len(alts) >= shown > 0
    for alt in alts[:shown]:
        assert pgd.per_sample["success"][int(alt.split()[1])]
    # the skipped and failed sections show their message and no plots
    assert _section_images(page, html, "test-evasion-square-digits-cnn") == []


def test_escaping_everywhere_but_extra_html(report_data, data_factory, html_parser) -> None:
    evil = "<script>alert(1)</script>"
    result = Result(
        test_id="evasion.fgsm",
        target=evil,
        status=Status.ERROR,
        params={"note": evil},
        message=evil,
    )
    finding = Finding(
        id="X",
        rule="EVA-001",
        title=evil,
        severity=Severity.LOW,
        target=evil,
        evidence={evil: evil},
        recommendation=evil,
        threats=(evil,),
        location=evil,
    )
    data = data_factory(
        [result],
        [finding],
        [{"name": evil, "kind": evil}],
        name=evil,
        run_id=evil,
        warnings=[evil],
        extra_html='<p id="verbatim"><b>kept</b></p>',
    )
    html = render_html(data)
    assert "<script" not in html.lower()
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 10
    page = html_parser(html)
    assert page.errors == [] and page.stack == []
    assert page.find("p", id="verbatim") and page.find("b")


def test_other_result_shapes_render_without_error(shaped_data, html_parser) -> None:
    html = render_html(shaped_data)
    page = html_parser(html)
    assert page.errors == [] and page.stack == []
    tables = {a.get("data-metric") for a in page.find("table") if a.get("data-metric")}
    assert {"stages", "queries", "per_transformation", "checks", "files"} <= tables
    assert {"per_corruption", "corruption_table", "nested"} <= tables
    text = page.text
    for expected in (
        "Ensemble stages",
        "apgd-t",
        "6.2%",  # apgd-t robust accuracy 0.0625
        "Black-box query cost per sample",
        "321.5",
        "Patch success per transformation",
        "Adversarial patch (3×8×8)",
        "Sanity checks against gradient masking",
        "Gradients are zero for 40% of inputs",
        "Pickle imports os.system",
        "model.pkl:data.pkl@118",
        "<b>bold</b>",
    ):
        assert expected in text, expected
    patch_images = _section_images(page, html, "test-evasion-patch-signs-cnn")
    assert len(patch_images) == 2  # the per-transformation bars and the patch itself
    square_images = _section_images(page, html, "test-evasion-square-digits-cnn")
    assert len(square_images) == 1  # query-cost distribution
    corruption_images = _section_images(page, html, "test-robustness-corruptions-digits-cnn")
    assert len(corruption_images) == 2  # per_corruption and corruption_table bars
    sanity = html[html.index('data-metric="checks"') :]
    assert re.search(r'class="bool yes">pass<', sanity) and re.search(
        r'class="bool no">FAIL<', sanity
    )
    unknown = _section_images(page, html, "test-unknown-thing-digits-cnn")
    assert unknown == []  # nothing drawable, and nothing crashed


def test_rendering_is_deterministic(report_data) -> None:
    assert render_html(report_data) == render_html(report_data)


def test_examples_without_originals_show_adversarials_only(report_data, data_factory) -> None:
    data = data_factory(report_data.results[:1], [], report_data.targets)
    html = render_html(data)
    assert 'alt="adversarial ' in html and 'alt="original ' not in html
    wrong_shape = data_factory(
        report_data.results[:1], [], report_data.targets, inputs={"digits-cnn": np.zeros((3, 64))}
    )
    assert 'alt="original ' not in render_html(wrong_shape)
