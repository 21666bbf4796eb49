"""View of the prompt family: corrected attack success per defence and transform, with the
detector error it was corrected for (the outcome's cells, transcripts and detector rows are
the report's tables)."""

from __future__ import annotations

from typing import Any, ClassVar

from aisec.records import Result
from aisec.records.outcome import encode
from aisec.records.prompt import PromptOutcome, SuffixOutcome
from aisec.report import plots
from aisec.report.views.base import OutcomeView, SummaryCells, register_view


def _outcome(result: Result) -> PromptOutcome:
    assert isinstance(result.outcome, PromptOutcome)
    return result.outcome


@register_view
class PromptView(OutcomeView):
    """Success of one probe family, as deployed and under each prompt defence."""

    kind = "prompt"
    figures: ClassVar[tuple[str, ...]] = ("own",)
    register_keys: ClassVar[tuple[str, ...]] = (
        "attack_success_rate",
        "success_low",
        "success_high",
        "observed_success",
        "scored",
        "errored",
    )

    def headline(self, result: Result) -> dict[str, Any]:
        """Corrected success of the application as deployed, its interval and its detector."""
        o = _outcome(result)
        lead = o.overall(o.defences[0])
        return {
            "n": lead.sent,
            "attack_success_rate": lead.corrected,
            "success_low": lead.low,
            "success_high": lead.high,
            "detector": o.detector,
        }

    def summary(self, result: Result) -> SummaryCells:
        """Only the attack success applies (there is no accuracy)."""
        o = _outcome(result)
        return SummaryCells(None, None, o.overall(o.defences[0]).corrected)

    def evidence(self, result: Result) -> dict[str, Any]:
        """The headline, the observed rate, the counts of unscored replies, the best defence."""
        o = _outcome(result)
        lead = o.overall(o.defences[0])
        out = {
            **self.headline(result),
            "observed_success": lead.observed,
            "scored": lead.scored,
            "errored": lead.errored,
            "blocked": lead.blocked,
            "empty": lead.empty,
        }
        if o.best:
            out["best_defence"] = o.best
            out["best_success_rate"] = o.overall(o.best).corrected
        return out

    def cli_json(self, result: Result) -> dict[str, Any]:
        """Headline and the whole outcome."""
        return {"headline": self.evidence(result), "metrics": encode(result.outcome)}

    def own_figures(self, result: Result, draw: bool) -> list[tuple[str, str | None]]:
        """Corrected success per defence and transform."""
        o = _outcome(result)
        cells = [c for c in o.cells if c.transform != "all" or len(o.defences) > 1]
        caption = (
            f"{o.family}: attack success per defence and transform, corrected for the error of "
            f"the {o.detector} detector"
        )
        uri = (
            plots.bar_plot(
                [f"{c.defence} / {c.transform}" for c in cells],
                [c.corrected for c in cells],
                ylabel="corrected attack success",
            )
            if draw
            else None
        )
        return [(caption, uri)] if uri or not draw else []


@register_view
class SuffixView(OutcomeView):
    """An adversarial suffix: whether it reached the target, and the loss over the steps."""

    kind = "prompt-suffix"
    figures: ClassVar[tuple[str, ...]] = ("own",)
    register_keys: ClassVar[tuple[str, ...]] = ("attack_success_rate", "final_loss")

    def headline(self, result: Result) -> dict[str, Any]:
        """Success (1 or 0), the loss before and after, the steps."""
        o = result.outcome
        assert isinstance(o, SuffixOutcome)
        return {
            "attack_success_rate": float(o.success),
            "initial_loss": o.initial_loss,
            "final_loss": o.final_loss,
            "steps": o.steps,
        }

    def summary(self, result: Result) -> SummaryCells:
        """Only the success applies."""
        return SummaryCells(None, None, self.headline(result)["attack_success_rate"])

    def evidence(self, result: Result) -> dict[str, Any]:
        """The headline figures."""
        return self.headline(result)

    def cli_json(self, result: Result) -> dict[str, Any]:
        """Headline and the whole outcome."""
        return {"headline": self.headline(result), "metrics": encode(result.outcome)}

    def own_figures(self, result: Result, draw: bool) -> list[tuple[str, str | None]]:
        """The best loss after each step."""
        o = result.outcome
        assert isinstance(o, SuffixOutcome)
        caption = f"GCG: cross-entropy of {o.target!r} over the steps"
        uri = (
            plots.lines_plot(
                list(range(1, len(o.loss_history) + 1)),
                {"best loss": list(o.loss_history)},
                xlabel="step",
                ylabel="loss",
            )
            if draw
            else None
        )
        return [(caption, uri)] if uri or not draw else []
