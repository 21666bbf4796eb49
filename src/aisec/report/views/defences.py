"""View of the evasion defences: the trade-off table, clean against robust accuracy, and the
certified-accuracy curve of randomized smoothing."""

from __future__ import annotations

from typing import Any, ClassVar

from aisec.records import Result
from aisec.records.defences import DefencesOutcome
from aisec.records.outcome import encode
from aisec.report import plots
from aisec.report.views.base import OutcomeView, SummaryCells, register_view


def _outcome(result: Result) -> DefencesOutcome:
    assert isinstance(result.outcome, DefencesOutcome)
    return result.outcome


@register_view
class DefencesView(OutcomeView):
    """One row per defence beside the undefended model (the rows are the report's table)."""

    kind = "defences"
    figures: ClassVar[tuple[str, ...]] = ("own",)
    register_keys: ClassVar[tuple[str, ...]] = ()

    def headline(self, result: Result) -> dict[str, Any]:
        """The recommended defence and the undefended and best robust accuracies."""
        o = _outcome(result)
        best = next((r for r in o.rows if r.defence == o.best), None)
        out: dict[str, Any] = {
            "clean_accuracy": o.undefended.clean_accuracy,
            "robust_accuracy": o.undefended.robust_accuracy,
            "best_defence": o.best or "none",
        }
        if best is not None:
            out["best_robust_accuracy"] = best.robust_accuracy
            out["best_clean_accuracy"] = best.clean_accuracy
        return out

    def summary(self, result: Result) -> SummaryCells:
        """Undefended clean accuracy and the recommended defence's robust accuracy."""
        o = _outcome(result)
        best = next((r for r in o.rows if r.defence == o.best), o.undefended)
        return SummaryCells(o.undefended.clean_accuracy, best.robust_accuracy)

    def evidence(self, result: Result) -> dict[str, Any]:
        """The headline figures."""
        return self.headline(result)

    def cli_json(self, result: Result) -> dict[str, Any]:
        """Headline and the whole outcome."""
        return {"headline": self.headline(result), "metrics": encode(result.outcome)}

    def own_figures(self, result: Result, draw: bool) -> list[tuple[str, str | None]]:
        """Clean against robust accuracy per defence; certified accuracy over the radius."""
        o = _outcome(result)
        out: list[tuple[str, str | None]] = []
        caption = (
            f"Clean against robust accuracy at {o.norm} {o.eps:g} per defence "
            f"({o.evaluation}; adaptive attacks for pre-processing)"
        )
        uri = (
            plots.tradeoff_plot(
                [r.defence for r in o.rows],
                [r.clean_accuracy for r in o.rows],
                [r.robust_accuracy for r in o.rows],
                xlabel="clean accuracy",
                ylabel="robust accuracy",
            )
            if draw
            else None
        )
        out.append((caption, uri))
        budgets = {r.settings: r for r in o.rows if r.curve}
        if budgets:
            eps = sorted({o.eps, *(p.eps for r in budgets.values() for p in r.curve)})

            def at(row: Any, e: float) -> float:
                if e == o.eps:
                    return row.robust_accuracy
                return next(p.robust_accuracy for p in row.curve if p.eps == e)

            cap = f"Robust accuracy over the {o.norm} budget per defence"
            uri_b = (
                plots.lines_plot(
                    eps,
                    {k: [at(r, e) for e in eps] for k, r in budgets.items()},
                    xlabel=f"{o.norm} budget",
                    ylabel="robust accuracy",
                )
                if draw
                else None
            )
            out.append((cap, uri_b))
        curves = {r.settings: r.certified_curve for r in o.rows if r.certified_curve}
        if curves:
            radii = [p.radius for p in next(iter(curves.values()))]
            cap = f"Certified accuracy of the smoothed model (sigma {o.sigma:g}) over the L2 radius"
            cert = (
                plots.lines_plot(
                    radii,
                    {k: [p.accuracy for p in v] for k, v in curves.items()},
                    xlabel="L2 radius",
                    ylabel="certified accuracy",
                )
                if draw
                else None
            )
            out.append((cap, cert))
        return [(c, u) for c, u in out if u or not draw]
