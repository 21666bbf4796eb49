"""Views of the evasion family's outcomes."""

from __future__ import annotations

from typing import Any, ClassVar

from aisec.records import Result
from aisec.records.evasion import CorruptionOutcome, EvasionOutcome, PatchOutcome, SanityOutcome
from aisec.records.outcome import encode
from aisec.report.views.base import OutcomeView, SummaryCells, register_view


@register_view
class EvasionView(OutcomeView):
    """Budgeted and minimum-norm attacks and the ensemble: accuracy under attack, norms, cost."""

    kind = "evasion"
    figures: ClassVar[tuple[str, ...]] = ("robustness", "queries", "examples")

    def headline(self, result: Result) -> dict[str, Any]:
        """n, budget, accuracies, success, perturbation sizes, query cost, minimal norm, and the
        unbroken points with signs of gradient masking (when there are any)."""
        o = _outcome(result, EvasionOutcome)
        out: dict[str, Any] = {
            "n": o.n,
            "eps": o.eps,
            "norm": o.norm,
            "targeted": o.targeted,
            "clean_accuracy": o.clean_accuracy,
            "robust_accuracy": o.robust_accuracy,
            "attack_success_rate": o.attack_success_rate,
            "mean_linf": o.mean_linf,
            "mean_l2": o.mean_l2,
            "median_l2": o.median_l2,
        }
        if o.queries is not None:
            out["queries_mean"] = o.queries.mean
        if o.minimal_perturbation is not None and o.minimal_perturbation.median is not None:
            out["minimal_perturbation_median"] = o.minimal_perturbation.median
        if o.gradient_signs is not None and o.gradient_signs.flagged:
            out["unbroken_points_with_masking_signs"] = o.gradient_signs.flagged
        return out

    def summary(self, result: Result) -> SummaryCells:
        """Clean and robust accuracy, success rate."""
        o = _outcome(result, EvasionOutcome)
        return SummaryCells(o.clean_accuracy, o.robust_accuracy, o.attack_success_rate)

    def cli_json(self, result: Result) -> dict[str, Any]:
        """The budget's figures, the curve when it has several points, ensemble stages."""
        o = _outcome(result, EvasionOutcome)
        head = self.headline(result)
        out: dict[str, Any] = {k: head[k] for k in _CLI_KEYS}
        if o.queries is not None:
            out["queries"] = o.queries.mean
            out["queries_detail"] = encode(o.queries)
        if len(o.curve) > 1:
            out["curve"] = encode(o.curve)
        if o.stages:
            out["stages"] = encode(o.stages)
        if o.minimal_perturbation is not None:
            out["minimal_perturbation"] = encode(o.minimal_perturbation)
        return {**out, "headline": head, "metrics": o.to_dict()}


_CLI_KEYS = (
    "n",
    "clean_accuracy",
    "robust_accuracy",
    "attack_success_rate",
    "mean_linf",
    "mean_l2",
    "median_l2",
)
"""Headline fields ``aisec evade --json`` puts at the top level."""


@register_view
class PatchView(OutcomeView):
    """The adversarial patch: held-out success against a random patch, per transformation."""

    kind = "patch"
    figures: ClassVar[tuple[str, ...]] = ("bars", "patch", "examples")
    register_keys: ClassVar[tuple[str, ...]] = (
        "clean_accuracy",
        "accuracy_with_patch",
        "success_rate",
        "random_patch_success_rate",
        "patch_fraction",
        "n_eval",
    )

    def headline(self, result: Result) -> dict[str, Any]:
        """Clean accuracy, accuracy with the patch, success against the random baseline."""
        o = _outcome(result, PatchOutcome)
        return {
            "n": o.n,
            "targeted": o.targeted,
            "clean_accuracy": o.clean_accuracy,
            "attack_success_rate": o.attack_success_rate,
            "accuracy_with_patch": o.accuracy_with_patch,
            "success_rate": o.success_rate,
            "random_patch_success_rate": o.random_patch_success_rate,
            "in_distribution_success_rate": o.in_distribution_success_rate,
            "in_distribution_random_patch_success_rate": o.in_distribution_random_patch_success_rate,
            "train_success_rate": o.train_success_rate,
        }

    def summary(self, result: Result) -> SummaryCells:
        """Clean accuracy, accuracy with the patch, success rate."""
        o = _outcome(result, PatchOutcome)
        return SummaryCells(o.clean_accuracy, o.accuracy_with_patch, o.success_rate)


@register_view
class CorruptionView(OutcomeView):
    """Natural corruptions: accuracy per corruption and severity, mean corruption accuracy."""

    kind = "corruptions"
    figures: ClassVar[tuple[str, ...]] = ("corruptions",)
    register_keys: ClassVar[tuple[str, ...]] = (
        "clean_accuracy",
        "mean_corruption_accuracy",
        "relative_drop",
        "n",
    )

    def headline(self, result: Result) -> dict[str, Any]:
        """Clean and mean corruption accuracy."""
        o = _outcome(result, CorruptionOutcome)
        return {
            "n": o.n,
            "clean_accuracy": o.clean_accuracy,
            "mean_corruption_accuracy": o.mean_corruption_accuracy,
        }

    def summary(self, result: Result) -> SummaryCells:
        """Clean accuracy and mean corruption accuracy."""
        o = _outcome(result, CorruptionOutcome)
        return SummaryCells(o.clean_accuracy, o.mean_corruption_accuracy, None)


@register_view
class SanityView(OutcomeView):
    """Gradient-masking sanity checks: which checks failed."""

    kind = "sanity"
    figures: ClassVar[tuple[str, ...]] = ()
    register_keys: ClassVar[tuple[str, ...]] = ("eps", "norm", "n", "failed")

    def headline(self, result: Result) -> dict[str, Any]:
        """n, budget and norm of the checks."""
        o = _outcome(result, SanityOutcome)
        return {"n": o.n, "eps": o.eps, "norm": o.norm}

    def summary(self, result: Result) -> SummaryCells:
        """No accuracy columns: the checks' verdicts are findings."""
        return SummaryCells()


def _outcome(result: Result, kind: type[Any]) -> Any:
    if not isinstance(result.outcome, kind):
        raise TypeError(f"{type(result.outcome).__name__} is not a {kind.__name__}")
    return result.outcome
