"""Views of the supply-chain family's outcomes."""

from __future__ import annotations

from typing import Any, ClassVar

from aisec.records import Result
from aisec.records.supplychain import ManifestOutcome, ScanOutcome
from aisec.report.views.base import OutcomeView, SummaryCells, register_view


@register_view
class ScanView(OutcomeView):
    """A model-file scan: files and findings by severity."""

    kind = "scan"
    figures: ClassVar[tuple[str, ...]] = ()
    register_keys: ClassVar[tuple[str, ...]] = ("n_files", "n_findings", "max_severity")

    def headline(self, result: Result) -> dict[str, Any]:
        """None: what a scan found is its findings, which have their own table."""
        return {}

    def evidence(self, result: Result) -> dict[str, Any]:
        """Files scanned, findings, worst severity."""
        o = result.outcome
        assert isinstance(o, ScanOutcome)
        return {"n_files": o.n_files, "n_findings": o.n_findings, "max_severity": o.max_severity}

    def summary(self, result: Result) -> SummaryCells:
        """No accuracy columns: what the scan found is in the findings."""
        return SummaryCells()


@register_view
class ManifestView(OutcomeView):
    """An integrity-manifest check: files compared and what changed."""

    kind = "manifest"
    figures: ClassVar[tuple[str, ...]] = ()
    register_keys: ClassVar[tuple[str, ...]] = ("ok", "signature", "checked")

    def headline(self, result: Result) -> dict[str, Any]:
        """None: changed files are findings, which have their own table."""
        return {}

    def evidence(self, result: Result) -> dict[str, Any]:
        """Files compared, changes, signature status."""
        o = result.outcome
        assert isinstance(o, ManifestOutcome)
        return {
            "checked": o.checked,
            "changed": len(o.changed),
            "removed": len(o.removed),
            "added": len(o.added),
            "signature": o.signature,
        }

    def summary(self, result: Result) -> SummaryCells:
        """No accuracy columns."""
        return SummaryCells()
