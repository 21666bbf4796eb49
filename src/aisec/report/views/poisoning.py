"""Views of the poisoning family's outcomes, of the backdoor scan and of the data-set check."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from aisec.records import Result
from aisec.records.outcome import encode
from aisec.records.poisoning import BackdoorScanOutcome, DataIntegrityOutcome, PoisoningOutcome
from aisec.report import plots
from aisec.report.views.base import OutcomeView, SummaryCells, register_view

OwnFigure = tuple[str, "str | None"]


@register_view
class PoisoningView(OutcomeView):
    """A poisoning-rate curve: clean accuracy and attack success per rate; defences beside."""

    kind = "poisoning"
    figures: ClassVar[tuple[str, ...]] = ("own",)
    register_keys: ClassVar[tuple[str, ...]] = ()

    def headline(self, result: Result) -> dict[str, Any]:
        """Rate, baseline and poisoned clean accuracy, attack success (poisoned and clean)."""
        o = _outcome(result, PoisoningOutcome)
        out: dict[str, Any] = {
            "poison_rate": o.rate,
            "baseline_accuracy": o.baseline_accuracy,
            "clean_accuracy": o.clean_accuracy,
            "attack_success_rate": o.attack_success_rate,
        }
        for d in o.detections:
            out[f"{d.method}_recall"] = d.recall
        for m in o.mitigations:
            out[f"success_after_{m.method}"] = m.attack_success_after
        if o.scan is not None:
            out["scan_flags_backdoor"] = o.scan.backdoored
        return out

    def summary(self, result: Result) -> SummaryCells:
        """Clean baseline, the poisoned model's clean accuracy, attack success."""
        o = _outcome(result, PoisoningOutcome)
        return SummaryCells(o.baseline_accuracy, o.clean_accuracy, o.attack_success_rate)

    def evidence(self, result: Result) -> dict[str, Any]:
        """The headline figures and the curve."""
        o = _outcome(result, PoisoningOutcome)
        return {
            **self.headline(result),
            "attack": o.attack,
            "curve": [[p.rate, p.attack_success_rate, p.clean_accuracy] for p in o.curve],
        }

    def cli_json(self, result: Result) -> dict[str, Any]:
        """Headline and the whole outcome."""
        return {"headline": self.headline(result), "metrics": encode(result.outcome)}

    def own_figures(self, result: Result, draw: bool) -> list[OwnFigure]:
        """The poisoning-rate curve, the true trigger, and the scan's figures when it ran."""
        o = _outcome(result, PoisoningOutcome)
        caption = f"Attack success and clean accuracy against the poisoning rate ({o.attack})"
        figs: list[OwnFigure] = []
        if draw:
            uri = plots.lines_plot(
                [p.rate for p in o.curve],
                {
                    "attack success": [p.attack_success_rate for p in o.curve],
                    "clean accuracy": [p.clean_accuracy for p in o.curve],
                },
                xlabel="poisoning rate (fraction of the training set)",
                ylabel="rate",
                reference=o.baseline_accuracy,
                reference_label="clean accuracy without poison",
            )
            figs.append((caption, uri))
        else:
            figs.append((caption, None))
        figs += _trigger_figure(result, "trigger_", "True trigger (stamped on grey)", draw)
        if o.scan is not None:
            figs += _trigger_figure(
                result, "scan_trigger_", "Recovered trigger of the suspected class", draw
            )
            figs += _anomaly_figure(o.scan, draw)
        return [f for f in figs if f[1] is not None or not draw]


@register_view
class BackdoorScanView(OutcomeView):
    """A backdoor scan: verdict, anomaly index per class, the recovered trigger, STRIP."""

    kind = "backdoor-scan"
    figures: ClassVar[tuple[str, ...]] = ("own",)
    register_keys: ClassVar[tuple[str, ...]] = ()

    def headline(self, result: Result) -> dict[str, Any]:
        """Verdict, suspected class, anomaly index, STRIP's rates."""
        o = _outcome(result, BackdoorScanOutcome)
        out: dict[str, Any] = {
            "backdoored": o.backdoored,
            "suspected_class": o.target_class,
            "anomaly_index": o.anomaly_index,
            "clean_accuracy": o.clean_accuracy,
        }
        if o.strip is not None:
            out["strip_false_positive_rate"] = o.strip.false_positive_rate
            if o.strip.detection_rate is not None:
                out["strip_detection_rate"] = o.strip.detection_rate
        return out

    def summary(self, result: Result) -> SummaryCells:
        """Clean accuracy only: the verdict is a finding."""
        return SummaryCells(_outcome(result, BackdoorScanOutcome).clean_accuracy)

    def evidence(self, result: Result) -> dict[str, Any]:
        """The headline."""
        return self.headline(result)

    def cli_json(self, result: Result) -> dict[str, Any]:
        """Headline and the whole outcome."""
        return {"headline": self.headline(result), "metrics": encode(result.outcome)}

    def own_figures(self, result: Result, draw: bool) -> list[OwnFigure]:
        """Anomaly index per class and the recovered trigger."""
        o = _outcome(result, BackdoorScanOutcome)
        figs = _anomaly_figure(o, draw)
        verdict = "flagged" if o.backdoored else "not flagged"
        caption = (
            f"Recovered trigger of class {int(np.argmax(o.anomaly))} (most anomalous, {verdict})"
        )
        figs += _trigger_figure(result, "trigger_", caption, draw)
        return [f for f in figs if f[1] is not None or not draw]


@register_view
class DataIntegrityView(OutcomeView):
    """A data-set check: duplicates, label noise, class-balance shift."""

    kind = "data-integrity"
    figures: ClassVar[tuple[str, ...]] = ("own",)
    register_keys: ClassVar[tuple[str, ...]] = ()

    def headline(self, result: Result) -> dict[str, Any]:
        """Label noise, duplicates, balance shift."""
        o = _outcome(result, DataIntegrityOutcome)
        out: dict[str, Any] = {
            "n": o.n,
            "label_noise": o.label_noise,
            "duplicates": o.exact_duplicates + o.near_duplicates,
        }
        if o.balance_shift is not None:
            out["balance_shift"] = o.balance_shift
        return out

    def summary(self, result: Result) -> SummaryCells:
        """No accuracy columns."""
        return SummaryCells()

    def evidence(self, result: Result) -> dict[str, Any]:
        """The headline."""
        return self.headline(result)

    def own_figures(self, result: Result, draw: bool) -> list[OwnFigure]:
        """Class shares against the reference's."""
        o = _outcome(result, DataIntegrityOutcome)
        caption = "Samples per class" + (" (reference in the table)" if o.reference_counts else "")
        if not draw:
            return [(caption, None)]
        labels = [f"class {k}" for k in o.class_counts]
        uri = plots.bar_plot(labels, list(o.class_counts.values()), ylabel="samples")
        return [(caption, uri)] if uri else []


def _outcome(result: Result, kind: type) -> Any:
    assert isinstance(result.outcome, kind)
    return result.outcome


def _trigger_figure(result: Result, prefix: str, caption: str, draw: bool) -> list[OwnFigure]:
    mask = result.artifacts.get(prefix + "mask")
    pattern = result.artifacts.get(prefix + "pattern")
    if mask is None or pattern is None:
        return []
    if not draw:
        return [(caption, None)]
    m, p = np.asarray(mask, np.float64), np.asarray(pattern, np.float64)
    if plots.to_hwc(p) is None:
        return []
    lo, hi = float(min(p.min(), 0.0)), float(max(p.max(), 1.0))
    stamped = (1 - m) * (lo + hi) / 2 + m * p
    uri = plots.image_png(stamped, bounds=(lo, hi), min_size=96)
    return [(caption, uri)]


def _anomaly_figure(o: BackdoorScanOutcome, draw: bool) -> list[OwnFigure]:
    caption = (
        f"Anomaly index per class (trigger size below the median, in MADs; flagged above "
        f"{o.threshold:g})"
    )
    if not draw:
        return [(caption, None)]
    uri = plots.bar_plot(
        [f"class {c} (L1 {l1:.1f})" for c, l1 in enumerate(o.mask_l1)],
        list(o.anomaly),
        ylabel="anomaly index",
    )
    return [(caption, uri)]
