"""Views of the privacy family: membership, attributes, extraction, output modes, DP-SGD."""

from __future__ import annotations

from typing import Any, ClassVar

from aisec.records import Result
from aisec.records.outcome import encode
from aisec.records.privacy import (
    AttributeOutcome,
    DpTrainingOutcome,
    ExtractionOutcome,
    MembershipOutcome,
    OutputModesOutcome,
)
from aisec.report import plots
from aisec.report.views.base import OutcomeView, SummaryCells, register_view

OwnFigure = tuple[str, "str | None"]


def _outcome(result: Result, kind: type) -> Any:
    assert isinstance(result.outcome, kind)
    return result.outcome


class _PrivacyView(OutcomeView):
    figures: ClassVar[tuple[str, ...]] = ("own",)
    register_keys: ClassVar[tuple[str, ...]] = ()

    def evidence(self, result: Result) -> dict[str, Any]:
        """The headline figures."""
        return self.headline(result)

    def cli_json(self, result: Result) -> dict[str, Any]:
        """Headline and the whole outcome."""
        return {"headline": self.headline(result), "metrics": encode(result.outcome)}


@register_view
class MembershipView(_PrivacyView):
    """Membership inference: AUC and TPR at low FPR with intervals, the log-log ROC."""

    kind = "membership"

    def headline(self, result: Result) -> dict[str, Any]:
        """AUC, balanced accuracy, TPR at 1% and 0.1% FPR (the JSON of `aisec membership`)."""
        o = _outcome(result, MembershipOutcome)
        return {
            "auc": o.auc,
            "balanced_accuracy": o.balanced_accuracy,
            "tpr_at_1pct_fpr": o.tpr_at_1pct_fpr,
            "tpr_at_01pct_fpr": o.tpr_at_01pct_fpr,
        }

    def summary(self, result: Result) -> SummaryCells:
        """Test accuracy; the attack's success is its TPR at 1% FPR."""
        o = _outcome(result, MembershipOutcome)
        return SummaryCells(o.test_accuracy, None, o.tpr_at_1pct_fpr)

    def cli_json(self, result: Result) -> dict[str, Any]:
        """The headline at the top level, with intervals and the whole outcome."""
        o = _outcome(result, MembershipOutcome)
        return {
            "attack": o.attack,
            **self.headline(result),
            "train_accuracy": o.train_accuracy,
            "test_accuracy": o.test_accuracy,
            "auc_ci": list(o.auc_ci),
            "tpr_at_1pct_fpr_ci": list(o.tpr_at_1pct_fpr_ci),
            "tpr_at_01pct_fpr_ci": list(o.tpr_at_01pct_fpr_ci),
            "n_members": o.n_members,
            "n_non_members": o.n_non_members,
            "n_reference": o.n_reference,
            "output_mode": o.output_mode,
            "metrics": encode(o),
        }

    def own_figures(self, result: Result, draw: bool) -> list[OwnFigure]:
        """The ROC curve on log-log axes."""
        o = _outcome(result, MembershipOutcome)
        caption = (
            f"ROC of the {o.attack} attack on log-log axes (AUC {o.auc:.3f}; TPR "
            f"{o.tpr_at_1pct_fpr:.1%} at 1% FPR; FPR resolution {o.fpr_resolution:.2g})"
        )
        if not draw:
            return [(caption, None)]
        uri = plots.roc_plot({o.attack: ([p.fpr for p in o.roc], [p.tpr for p in o.roc])})
        return [(caption, uri)] if uri else []


@register_view
class AttributeView(_PrivacyView):
    """Attribute inference: attack against baseline, on members and non-members."""

    kind = "attribute"

    def headline(self, result: Result) -> dict[str, Any]:
        """The feature and the leakage the model adds (accuracies are the summary cells)."""
        o = _outcome(result, AttributeOutcome)
        return {
            "feature": o.feature,
            "leakage": o.leakage,
            "leakage_non_members": o.leakage_non_members,
        }

    def summary(self, result: Result) -> SummaryCells:
        """Baseline accuracy as clean, the attack's as success."""
        o = _outcome(result, AttributeOutcome)
        return SummaryCells(o.baseline_accuracy, None, o.attack_accuracy)

    def own_figures(self, result: Result, draw: bool) -> list[OwnFigure]:
        """Attack and baseline accuracy on members and non-members."""
        o = _outcome(result, AttributeOutcome)
        caption = f"Inferring {o.feature} ({o.bins} values; chance {o.chance:.0%})"
        if not draw:
            return [(caption, None)]
        uri = plots.bar_plot(
            [
                "members: with the model",
                "members: baseline",
                "non-members: with the model",
                "non-members: baseline",
            ],
            [
                o.attack_accuracy,
                o.baseline_accuracy,
                o.attack_accuracy_non_members,
                o.baseline_accuracy_non_members,
            ],
            ylabel="accuracy",
        )
        return [(caption, uri)] if uri else []


@register_view
class ExtractionView(_PrivacyView):
    """Model extraction: fidelity and accuracy over queries, transfer, the monitor."""

    kind = "extraction"

    def headline(self, result: Result) -> dict[str, Any]:
        """Queries, fidelity, accuracy (the JSON of `aisec extract`), transfer, monitor verdict."""
        o = _outcome(result, ExtractionOutcome)
        out: dict[str, Any] = {
            "queries": o.queries,
            "fidelity": o.fidelity,
            "accuracy": o.accuracy,
        }
        if o.transfer_rate is not None:
            out["transfer_rate"] = o.transfer_rate
        if o.monitor is not None:
            out["monitor_flagged"] = o.monitor.flagged
        return out

    def summary(self, result: Result) -> SummaryCells:
        """Target accuracy as clean, fidelity as success."""
        o = _outcome(result, ExtractionOutcome)
        return SummaryCells(o.target_accuracy, None, o.fidelity)

    def cli_json(self, result: Result) -> dict[str, Any]:
        """The headline at the top level, the curve and the whole outcome."""
        o = _outcome(result, ExtractionOutcome)
        return {
            **self.headline(result),
            "target_accuracy": o.target_accuracy,
            "monitor_false_alarm_rate": None if o.monitor is None else o.monitor.false_alarm_rate,
            "budget": o.budget,
            "strategy": o.strategy,
            "curve": [[p.queries, p.fidelity, p.accuracy] for p in o.curve],
            "metrics": encode(o),
        }

    def own_figures(self, result: Result, draw: bool) -> list[OwnFigure]:
        """Fidelity and accuracy against the queries spent."""
        o = _outcome(result, ExtractionOutcome)
        caption = f"Substitute fidelity and accuracy over queries ({o.strategy} strategy)"
        if not draw:
            return [(caption, None)]
        uri = plots.lines_plot(
            [p.queries for p in o.curve],
            {
                "fidelity": [p.fidelity for p in o.curve],
                "accuracy": [p.accuracy for p in o.curve],
            },
            xlabel="queries to the target",
            ylabel="rate",
            reference=o.target_accuracy,
            reference_label="target accuracy",
        )
        return [(caption, uri)] if uri else []


@register_view
class OutputModesView(_PrivacyView):
    """The transparency trade-off: one row per output mode."""

    kind = "output-modes"

    def headline(self, result: Result) -> dict[str, Any]:
        """The least leaky mode, the largest TPR at 1% FPR and the least leaky mode's."""
        o = _outcome(result, OutputModesOutcome)
        if not o.rows:
            return {}
        least = min(o.rows, key=lambda r: (r.tpr_at_1pct_fpr, r.auc))
        most = max(o.rows, key=lambda r: (r.tpr_at_1pct_fpr, r.auc))
        return {
            "least_leaky_mode": least.mode,
            "tpr_at_1pct_fpr": most.tpr_at_1pct_fpr,
            "tpr_least_leaky": least.tpr_at_1pct_fpr,
        }

    def summary(self, result: Result) -> SummaryCells:
        """No single accuracy: the table is in the report."""
        return SummaryCells()

    def own_figures(self, result: Result, draw: bool) -> list[OwnFigure]:
        """Leakage against honest accuracy, one point per mode."""
        o = _outcome(result, OutputModesOutcome)
        caption = (
            f"Membership TPR at 1% FPR ({o.attack}) against the accuracy honest users keep, "
            "per output mode"
        )
        if not draw:
            return [(caption, None)]
        uri = plots.tradeoff_plot(
            [r.mode for r in o.rows],
            [r.honest_accuracy for r in o.rows],
            [r.tpr_at_1pct_fpr for r in o.rows],
            xlabel="honest accuracy",
            ylabel="membership TPR at 1% FPR",
        )
        return [(caption, uri)] if uri else []


@register_view
class DpTrainingView(_PrivacyView):
    """DP-SGD: accuracy cost beside the leakage removed."""

    kind = "dp-training"

    def headline(self, result: Result) -> dict[str, Any]:
        """Epsilon and the leakage before and after (accuracies are the summary cells)."""
        o = _outcome(result, DpTrainingOutcome)
        return {"epsilon": o.epsilon, "tpr_before": o.tpr_before, "tpr_after": o.tpr_after}

    def summary(self, result: Result) -> SummaryCells:
        """Accuracy without and with DP."""
        o = _outcome(result, DpTrainingOutcome)
        return SummaryCells(o.accuracy_before, o.accuracy_after, o.tpr_after)

    def own_figures(self, result: Result, draw: bool) -> list[OwnFigure]:
        """Accuracy and leakage without and with DP-SGD."""
        o = _outcome(result, DpTrainingOutcome)
        caption = f"Without and with DP-SGD (epsilon {o.epsilon:.2g}, delta {o.delta:g})"
        if not draw:
            return [(caption, None)]
        uri = plots.bar_plot(
            [
                "test accuracy, undefended",
                "test accuracy, DP-SGD",
                "membership TPR@1%FPR, undefended",
                "membership TPR@1%FPR, DP-SGD",
            ],
            [o.accuracy_before, o.accuracy_after, o.tpr_before, o.tpr_after],
            ylabel="rate",
        )
        return [(caption, uri)] if uri else []
