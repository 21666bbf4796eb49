"""Reports of real minimum-norm, black-box, patch and corruption results."""

from __future__ import annotations

import re

import jsonschema

from aisec.report.html import render_html
from aisec.report.json_report import report_dict, schema
from aisec.report.markdown import render_markdown


def _section(html: str, slug: str) -> str:
    start = html.index(f'id="{slug}"')
    end = html.find('<section class="test', start + 1)
    return html[start : end if end > 0 else len(html)]


def _captions(chunk: str) -> list[str]:
    return re.findall(r"<figcaption>([^<]*)</figcaption>", chunk)


def test_each_kind_of_result_gets_its_view(more_data, html_parser) -> None:
    html = render_html(more_data)
    page = html_parser(html)
    assert page.errors == [] and page.stack == []

    deepfool = _section(html, "test-evasion-deepfool-digits-cnn")
    assert _captions(deepfool)[0].startswith("Minimal adversarial l2 perturbation")
    assert 'data-metric="minimal_perturbation"' in deepfool

    square = _section(html, "test-evasion-square-digits-logreg")
    assert "Model queries spent per attacked point (empirical CDF)" in _captions(square)
    assert 'data-metric="queries"' in square
    queries = more_data.results[1].metrics["queries"]
    assert queries["max"] <= 200  # the budget given
    assert f">{queries['max']}<" in square

    patch = _section(html, "test-evasion-patch-digits-cnn")
    caps = _captions(patch)
    assert any(c.startswith("Adversarial patch (") for c in caps)
    assert any(c.startswith("Random patch (control)") for c in caps)
    assert any(c.startswith("Patch success per transformation") for c in caps)
    assert 'data-metric="per_transformation"' in patch
    assert "Inputs with the patch applied" in patch
    labels = more_data.results[2].artifacts["example_labels"]
    preds = more_data.results[2].artifacts["example_predictions"]
    assert f"label {labels[0]} → {preds[0]}" in patch
    assert len(re.findall(r'alt="original \d+"', patch)) == min(6, len(labels))

    corruptions = _section(html, "test-evasion-corruptions-digits-cnn")
    assert _captions(corruptions) == ["Accuracy under natural corruptions, per severity"]
    acc = more_data.results[3].metrics["accuracy"]
    first = next(iter(acc))
    table = corruptions[corruptions.index('data-metric="accuracy"') :]
    assert "severity 1" in table and "severity 5" in table
    found = re.search(rf"<td[^>]*>{re.escape(first)}</td>", table)
    assert found is not None
    row = table[found.start() :].split("</tr>")[0]
    assert [f"{v:.1%}" for v in acc[first]] == re.findall(r">([\d.]+%)<", row)


def test_json_and_markdown_of_the_same_results(more_data) -> None:
    doc = report_dict(more_data)
    jsonschema.Draft202012Validator(schema()).validate(doc)
    heads = {t["test_id"]: t["headline"] for t in doc["summary"]["tests"]}
    deepfool = more_data.results[0].metrics["minimal_perturbation"]
    assert heads["evasion.deepfool"]["minimal_perturbation_median"] == deepfool["median"]
    assert (
        heads["evasion.square"]["queries_mean"] == more_data.results[1].metrics["queries"]["mean"]
    )
    assert heads["evasion.patch"]["success_rate"] == more_data.results[2].metrics["success_rate"]
    patch_arts = doc["results"][2]["artifacts"]
    assert patch_arts["patch"]["shape"] == list(more_data.results[2].artifacts["patch"].shape)

    md = render_markdown(more_data)
    assert "**Patch success per transformation**" in md
    assert "**Black-box query cost per sample**" in md
    assert "| name | severity 1 | severity 2 | severity 3 | severity 4 | severity 5 |" in md
    assert "Accuracy under natural corruptions, per severity" in md
    assert "Adversarial patch (" in md


def test_single_budget_attacks_show_their_point(report_data) -> None:
    html = render_html(report_data)
    fgsm = _section(html, "test-evasion-fgsm-digits-cnn")
    # FGSM perturbations all have the size of the budget: the figure is the curve point
    assert _captions(fgsm) == ["Robust accuracy as a function of eps (linf)"]


def test_scan_section_lists_its_findings_with_their_location(more_data, html_parser) -> None:
    html = render_html(more_data)
    scan = _section(html, "test-supplychain-scan-digits-cnn")
    scan_findings = [f for f in more_data.findings if f.test_id == "supplychain.scan"]
    assert scan_findings, "a pickle that calls os.system must be reported"
    assert any("system" in f"{f.title} {f.evidence}" for f in scan_findings)
    assert "Static scan of the model and data files" in scan
    assert 'data-metric="files"' in scan and "model.pkl" in scan
    page = html_parser(scan)
    items = [t for t, a in page.elements if t == "li"]
    assert len(items) == len(scan_findings)
    for f in scan_findings:
        assert f.rule in scan
        if f.location:
            assert f.location.replace("&", "&amp;").replace("<", "&lt;") in scan
    summary = report_dict(more_data)["summary"]
    assert summary["severity_counts"][scan_findings[0].severity.value] >= 1
