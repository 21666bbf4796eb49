"""The :class:`OutcomeView` interface, its registry and the generic fallback."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from aisec.records import Result, jsonable

FIGURES = ("robustness", "queries", "corruptions", "bars", "patch", "examples", "own")
"""Figure builders a report section knows (see :mod:`aisec.report.sections`)."""

_RATE_WORDS = ("accuracy", "success_rate", "rate")


@dataclass(frozen=True)
class SummaryCells:
    """The cells one result fills in a terminal summary table (None shows as ``-``)."""

    clean: float | None = None
    """Accuracy without attack."""
    under_attack: float | None = None
    """Accuracy under the attack (robust accuracy, with the patch, under corruptions)."""
    success: float | None = None
    """Attack success rate."""


class OutcomeView:
    """How results of one outcome kind are shown. Subclasses set ``kind`` and override."""

    kind: ClassVar[str] = ""
    """The outcome kind this view shows (``""`` for the generic view)."""
    figures: ClassVar[tuple[str, ...]] = FIGURES
    """The figure builders that apply to this kind, in order."""
    register_keys: ClassVar[tuple[str, ...]] = (
        "clean_accuracy",
        "robust_accuracy",
        "attack_success_rate",
        "eps",
        "norm",
        "n",
    )
    """Metrics the risk register quotes as evidence."""

    def headline(self, result: Result) -> dict[str, Any]:
        """Scalar headline metrics (keys as in ``content.HEADLINE_KEYS`` where they apply)."""
        return generic_headline(result.metrics)

    def summary(self, result: Result) -> SummaryCells:
        """Cells of the terminal summary table."""
        m = result.metrics
        return SummaryCells(
            _num(m.get("clean_accuracy")),
            _num(m.get("robust_accuracy")),
            _num(m.get("attack_success_rate")),
        )

    def evidence(self, result: Result) -> dict[str, Any]:
        """Metrics the risk register quotes for the result."""
        return {k: jsonable(result.metrics[k]) for k in self.register_keys if k in result.metrics}

    def cli_json(self, result: Result) -> dict[str, Any]:
        """Fields of ``aisec evade --json`` beyond the result's identity."""
        return {"headline": self.headline(result), "metrics": jsonable(dict(result.metrics))}

    def own_figures(self, result: Result, draw: bool) -> list[tuple[str, str | None]]:
        """The family's own figures as ``(caption, PNG data URI)``; with ``draw`` False, the
        captions only (URI None). Shown when ``own`` is among :attr:`figures`."""
        return []


class GenericView(OutcomeView):
    """Whatever the metrics hold: every figure is tried, headline keys are looked up."""


_VIEWS: dict[str, OutcomeView] = {}
_GENERIC = GenericView()


def register_view(cls: type[OutcomeView]) -> type[OutcomeView]:
    """Class decorator: show outcomes of ``cls.kind`` with ``cls``."""
    _VIEWS[cls.kind] = cls()
    return cls


def view_for(result: Result) -> OutcomeView:
    """The view of the result's outcome kind (the generic view when it has none)."""
    if result.outcome is None:
        return _GENERIC
    return _VIEWS.get(result.outcome.kind, _GENERIC)


def generic_headline(m: Mapping[str, Any]) -> dict[str, Any]:
    """Headline metrics found by key in free-form metrics."""
    from aisec.report.content import HEADLINE_KEYS, is_scalar

    out: dict[str, Any] = {}
    for key in HEADLINE_KEYS:
        if key in m and is_scalar(m[key]):
            out[key] = jsonable(m[key])
    queries = m.get("queries")
    if isinstance(queries, Mapping) and _num(queries.get("mean")) is not None:
        out["queries_mean"] = float(queries["mean"])
    elif _num(queries) is not None:
        out["queries_mean"] = float(queries)
    minimal = m.get("minimal_perturbation")
    if isinstance(minimal, Mapping) and _num(minimal.get("median")) is not None:
        out["minimal_perturbation_median"] = float(minimal["median"])
    for key, value in m.items():
        if key in out or key in HEADLINE_KEYS or _num(value) is None:
            continue
        if any(str(key).endswith(w) for w in _RATE_WORDS):
            out[str(key)] = float(value)
    return out


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None
