"""The threat sections: the HTML fragment parses, has the four sections, an SVG diagram and a
heat map, no scripts; the Markdown has the same sections; the standalone page wraps them."""

from __future__ import annotations

from html.parser import HTMLParser

from aisec.records import Finding, Result, Severity, Status
from aisec.report.dataflow import dataflow_svg
from aisec.report.threat_markdown import threat_markdown_sections, threat_model_markdown
from aisec.report.threat_sections import threat_html_sections, threat_model_page
from aisec.threat import (
    ai_act_evidence,
    build_risk_register,
    derive_threats,
    load_profile,
    parse_profile,
)


class _Outline(HTMLParser):
    """Collects section ids, tags inside each section, attack points and external references."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {}
        self.current: str | None = None
        self.text: dict[str, str] = {}
        self.attack_points: list[str] = []
        self.external: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.current = a.get("id") or ""
            self.sections[self.current] = []
            self.text[self.current] = ""
        elif self.current is not None:
            self.sections[self.current].append(tag)
        if a.get("class") == "attack-point":
            self.attack_points.append(a.get("data-threat") or "")
        for key in ("src", "href"):
            if (a.get(key) or "").startswith(("http:", "https:", "//")):
                self.external.append(a[key] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.text[self.current] += data


def _evidence() -> tuple[list[Result], list[Finding]]:
    result = Result(
        test_id="evasion.pgd",
        target="signs-cnn",
        status=Status.OK,
        params={"eps": 0.0314},
        metrics={"clean_accuracy": 0.97, "robust_accuracy": 0.12, "eps": 0.0314, "norm": "linf"},
    )
    finding = Finding(
        id="EVA-001:signs-cnn:evasion.pgd:linf:0.0314",
        rule="EVA-001",
        title="PGD cuts accuracy from 97% to 12%",
        severity=Severity.CRITICAL,
        target="signs-cnn",
        test_id="evasion.pgd",
        threats=("evasion-digital",),
    )
    return [result], [finding]


def test_html_fragment_has_every_section_and_no_external_resources() -> None:
    tm = derive_threats(load_profile("builtin:traffic-sign-camera"))
    results, findings = _evidence()
    register = build_risk_register(tm, results, findings)
    ai = ai_act_evidence(tm, results, findings)
    html = threat_html_sections(tm, register, ai)
    doc = _Outline()
    doc.feed(html)
    doc.close()
    assert list(doc.sections) == ["threat-model", "risk-register", "taxonomy-crosswalk", "ai-act"]
    assert "svg" in doc.sections["threat-model"] and "table" in doc.sections["threat-model"]
    assert {"evasion-physical", "evasion-digital", "backdoor"} <= set(doc.attack_points)
    assert (
        "table" in doc.sections["risk-register"]
        and "Gaps (untested threats)" in doc.text["risk-register"]
    )
    crosswalk = doc.text["taxonomy-crosswalk"]
    assert findings[0].id in crosswalk and "NISTAML.022" in crosswalk and "AML.T0015" in crosswalk
    assert "ML01:2023" in crosswalk
    ai_text = doc.text["ai-act"]
    assert (
        "EU AI Act Art. 15 evidence" in ai_text
        and "tested-failed" in ai_text
        and "not-tested" in ai_text
    )
    assert "script" not in doc.tags and doc.external == []
    assert 'href="#crosswalk-eva-001-signs-cnn-evasion-pgd-linf-0-0314"' in html
    assert 'id="crosswalk-eva-001-signs-cnn-evasion-pgd-linf-0-0314"' in html


def test_diagram_follows_the_profile() -> None:
    agent = dataflow_svg(derive_threats(load_profile("builtin:llm-agent")))
    camera = dataflow_svg(derive_threats(load_profile("builtin:traffic-sign-camera")))
    assert 'data-node="tools"' in agent and 'data-node="retrieval"' in agent
    assert 'data-node="tools"' not in camera and "Sensor input" in camera
    assert 'data-threat="prompt-injection-indirect"' in agent
    assert 'data-threat="prompt-injection-indirect"' not in camera
    parser = HTMLParser()
    parser.feed(agent)  # well-formed enough to parse
    assert agent.startswith("<svg") and agent.endswith("</svg>")


def test_markdown_sections_and_defaults_without_evidence() -> None:
    tm = derive_threats(load_profile("builtin:digits-classifier"))
    md = threat_markdown_sections(tm)
    for heading in (
        "## Threat model",
        "## Risk register",
        "## Taxonomy crosswalk",
        "## EU AI Act Art. 15 evidence",
    ):
        assert heading in md
    assert "| evasion-digital | yes |" in md and "not-tested" in md
    html = threat_html_sections(tm)
    assert '<section id="risk-register">' in html and "gap" in html


def test_profile_text_is_escaped_in_the_html_and_the_diagram() -> None:
    evil = '<script>alert(1)</script> & "quoted"'
    profile = parse_profile(
        {
            "name": "agent",
            "description": evil,
            "technology": "large-model",
            "task": "agent",
            "modality": "text",
            "exposure": ["public-api"],
            "outputs": ["generated-text"],
            "tools": [evil],
        }
    )
    tm = derive_threats(profile)
    html = threat_html_sections(tm)
    svg = dataflow_svg(tm)
    for text in (html, svg):
        assert "<script>" not in text and "&lt;script&gt;" in text
    doc = _Outline()
    doc.feed(html)
    doc.close()
    assert "script" not in doc.tags
    assert evil in doc.text["threat-model"]
    svg_doc = _Outline()
    svg_doc.feed(svg)
    svg_doc.close()
    assert "script" not in svg_doc.tags


def test_standalone_page_wraps_the_sections_and_fetches_nothing() -> None:
    tm = derive_threats(load_profile("builtin:llm-agent"))
    page = threat_model_page(tm)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Threat model: " in page and "default-src 'none'" in page
    assert threat_html_sections(tm) in page
    md = threat_model_markdown(tm)
    assert md.startswith(f"# Threat model: {tm.profile.name}\n\n## Threat model")
