"""Report fixtures: a run from real attacks on the built-in digits CNN, and an HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest

from aisec.records import Finding, Result, Severity, Status
from aisec.report.model import ReportData

EXTRA_HTML = '<section id="threat-model"><h2>Threat model</h2><p>derived &amp; ranked</p></section>'
EXTRA_MD = "## Threat model\n\nderived and ranked\n"


@pytest.fixture(scope="session")
def real_results(digits_cnn, digits_small) -> tuple[list[Result], list[Finding]]:
    """PGD (with a curve) and FGSM run for real on the digits CNN, with their findings."""
    from aisec.attacks.evasion import FGSM, PGD

    results, findings = [], []
    for attack in (PGD(eps=0.1, curve=[0.05, 0.2]), FGSM(eps=0.1)):
        result = attack.run(digits_cnn, digits_small, seed=0)
        results.append(result)
        findings.extend(attack.findings(result))
    return results, findings


class _RunsCommand:
    """Pickles as a call to ``os.system`` (never unpickled: only the scanner reads it)."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        import os

        return (os.system, ("echo pwned",))


@pytest.fixture(scope="session")
def more_real_results(
    digits_cnn, digits_logreg, digits_small, tmp_path_factory
) -> tuple[list[Result], list[Finding]]:
    """A minimum-norm, a black-box, a physical-world and a corruption test, and a scan of a
    malicious pickle, run for real."""
    import pickle

    from aisec.attacks.evasion import AdversarialPatch, Corruptions, DeepFool, Square
    from aisec.supplychain.test import SupplyChainScan

    evil = tmp_path_factory.mktemp("files") / "model.pkl"
    evil.write_bytes(pickle.dumps({"weights": [1.0, 2.0], "hook": _RunsCommand()}, protocol=2))
    data = digits_small.subset(40, seed=1)
    results, findings = [], []
    for attack, target in (
        (DeepFool(), digits_cnn),
        (Square(eps=0.1, queries=200), digits_logreg),
        (AdversarialPatch(steps=30, eval_repeats=1, size=0.15, batch_size=16), digits_cnn),
        (Corruptions(), digits_cnn),
        (SupplyChainScan(paths=[str(evil)]), digits_cnn),
    ):
        result = attack.run(target, data, seed=0)
        assert result.ok, result.message
        results.append(result)
        findings.extend(attack.findings(result))
    return results, findings


@pytest.fixture(scope="session")
def more_data(more_real_results, target_info, digits_logreg, digits_small) -> ReportData:
    """A run of :func:`more_real_results`."""
    results, findings = more_real_results
    targets = [*target_info, {**digits_logreg.describe(), "data": digits_small.describe()}]
    return make_data(results, findings, targets)


def make_data(
    results: list[Result],
    findings: list[Finding],
    targets: list[dict[str, Any]],
    **kw: Any,
) -> ReportData:
    """A ReportData the way the runner assembles one (findings most severe first)."""
    ordered = sorted(findings, key=lambda f: -f.severity.rank)
    base: dict[str, Any] = {
        "run_id": "run-0001",
        "name": "digits <demo> & co",
        "created": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:01:00+00:00",
        "aisec_version": "0.1.0",
        "config": {"version": 1, "name": "digits-demo", "fail_on": "high"},
        "targets": targets,
        "results": results,
        "findings": ordered,
        "units_total": len(results),
        "units_done": len(results),
    }
    base.update(kw)
    return ReportData(**base)


@pytest.fixture(scope="session")
def target_info(digits_cnn, digits_small) -> list[dict[str, Any]]:
    """The targets section, as the runner stores it."""
    return [{**digits_cnn.describe(), "data": digits_small.describe()}]


@pytest.fixture(scope="session")
def report_data(real_results, target_info, digits_small) -> ReportData:
    """Real PGD and FGSM results, a skipped and a failed unit, extra sections and originals."""
    results, findings = real_results
    skipped = Result.skipped(
        "evasion.square", "digits-cnn", "needs scores | the target is <label_only>"
    )
    error = Result.error("evasion.cw", "digits-cnn", "diverged: loss became NaN at step 3")
    return make_data(
        [*results, skipped, error],
        findings,
        target_info,
        fail_on=Severity.HIGH,
        extra_html=EXTRA_HTML,
        extra_markdown=EXTRA_MD,
        inputs={"digits-cnn": digits_small.x},
        threat_model={"threats": [{"id": "evasion-digital", "applicable": True}]},
        risk_register={"entries": []},
        ai_act=None,
    )


def shaped_results() -> list[Result]:
    """Records in the shapes other tests produce (ensemble, black-box, patch, corruptions,
    sanity checks, scanner), with values chosen so each can be recognised in the output."""
    rng = np.random.default_rng(0)
    n = 20
    success = rng.random(n) < 0.6
    return [
        Result(
            test_id="evasion.ensemble",
            target="digits-cnn",
            status=Status.OK,
            params={"preset": "standard", "eps": 0.1},
            metrics={
                "clean_accuracy": 0.95,
                "robust_accuracy": 0.05,
                "stages": [
                    {"attack": "apgd-ce", "robust_accuracy": 0.15, "seconds": 1.5},
                    {"attack": "apgd-t", "robust_accuracy": 0.0625, "seconds": 4.0},
                    {"attack": "fab-t", "robust_accuracy": 0.05, "seconds": 3.0},
                ],
            },
            per_sample={"success": success, "linf": np.where(success, 0.1, 0.0)},
            seconds=8.5,
        ),
        Result(
            test_id="evasion.square",
            target="digits-cnn",
            status=Status.OK,
            params={"queries": 5000},
            metrics={
                "robust_accuracy": 0.3,
                "queries": {"mean": 321.5, "median": 250.0, "max": 5000, "total": 6430},
            },
            per_sample={"queries": rng.integers(1, 5000, n), "success": success},
        ),
        Result(
            test_id="evasion.patch",
            target="signs-cnn",
            status=Status.OK,
            metrics={
                "success_rate": 0.8125,
                "per_transformation": [
                    {"transformation": "rotation", "success_rate": 0.75},
                    {"transformation": "blur", "success_rate": 0.5},
                ],
            },
            artifacts={"patch": rng.random((3, 8, 8)).astype(np.float32)},
        ),
        Result(
            test_id="robustness.corruptions",
            target="digits-cnn",
            status=Status.OK,
            metrics={
                "clean_accuracy": 0.97,
                "per_corruption": {"gaussian_noise": 0.61, "jpeg": 0.93},
                "corruption_table": [
                    {"corruption": "blur", "severity": 3, "accuracy": 0.7},
                    {"corruption": "blur", "severity": 5, "accuracy": 0.4},
                ],
            },
        ),
        Result(
            test_id="evasion.sanity",
            target="digits-cnn",
            status=Status.OK,
            metrics={
                "checks": [
                    {
                        "rule": "SAN-001",
                        "check": "unbounded",
                        "passed": True,
                        "evidence": {"eps": 1.0, "success_rate": 1.0},
                    },
                    {
                        "rule": "SAN-005",
                        "check": "zero-gradients",
                        "passed": False,
                        "evidence": {"fraction": 0.4},
                    },
                ]
            },
        ),
        Result(
            test_id="supplychain.scan",
            target="model-files",
            status=Status.OK,
            metrics={"files": [{"path": "model.pkl", "format": "pickle", "findings": 1}]},
        ),
        Result(
            test_id="unknown.thing",
            target="digits-cnn",
            status=Status.OK,
            metrics={
                "nan": float("nan"),
                "empty_list": [],
                "empty_dict": {},
                "nested": {"a": [1, 2, {"b": [3.0, None]}], "c": {"d": {"e": 1}}},
                "long": list(range(500)),
                "mixed": [1, "two", {"three": 3}],
                "curve": "not a curve",
                "stages": [{"x": 1}, "odd"],
                "per_transformation": {"rotation": {"success_rate": "high"}},
                "big_number": 1e300,
                "text": "<b>bold</b>",
            },
            per_sample={"weird": np.array(["a", "b"]), "empty": np.array([])},
            artifacts={"x_adv": np.zeros((2, 5), dtype=np.float32), "patch": np.zeros(3)},
        ),
    ]


def shaped_findings() -> list[Finding]:
    """Findings that belong to :func:`shaped_results`."""
    return [
        Finding(
            id="SCN-010:model.pkl",
            rule="SCN-010",
            title="Pickle imports os.system",
            severity=Severity.CRITICAL,
            target="model-files",
            test_id="supplychain.scan",
            threats=("unsafe-model-serialization",),
            evidence={"global": "os.system"},
            recommendation="Do not load it; convert to safetensors.",
            location="model.pkl:data.pkl@118",
        ),
        Finding(
            id="SAN-002",
            rule="SAN-002",
            title="Gradients are zero for 40% of inputs",
            severity=Severity.HIGH,
            target="digits-cnn",
            test_id="evasion.sanity",
            threats=("evasion-digital",),
            evidence={"fraction": 0.4, "nested": {"k": [1.23456789, 2]}},
        ),
    ]


class Page(HTMLParser):
    """A small DOM summary: elements in document order with their attributes and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.text_parts: list[str] = []
        self.errors: list[str] = []

    _VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"}
        | {"source", "track", "wbr"}
    )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in self._VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        """All text content."""
        return " ".join(" ".join(self.text_parts).split())

    def ids(self) -> list[str]:
        """Element ids in document order."""
        return [a["id"] for _, a in self.elements if "id" in a]

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        """Attributes of every ``tag`` whose attributes include ``attrs``."""
        return [
            a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


def parse(html: str) -> Page:
    """Parse a page; the caller checks ``errors`` and ``stack`` for balance."""
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="session")
def shaped_data(target_info) -> ReportData:
    """A run made of :func:`shaped_results`, failing at ``fail_on: high``."""
    return make_data(shaped_results(), shaped_findings(), target_info, fail_on=Severity.HIGH)


@pytest.fixture(scope="session")
def html_parser():
    """The :func:`parse` helper."""
    return parse


@pytest.fixture(scope="session")
def data_factory():
    """The :func:`make_data` helper."""
    return make_data
