"""From applicable threats to a test plan: which registered tests, with which parameters.

Tests are found in the registry at plan time: the catalogue's ``tests`` and ``planned_tests``
that are registered, plus any registered test that declares the threat in its ``threats``.
Tests not registered yet are listed as planned; applicable threats without any test are gaps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aisec.registry import needs_extra
from aisec.threat.profile import EvasionBudget, SystemProfile

if TYPE_CHECKING:
    from aisec.base import SecurityTest
    from aisec.taxonomy import ThreatEntry

#: Default evasion budgets per modality, in input units for inputs scaled to [0, 1]. Text has
#: none: an Lp ball around token ids or embeddings is not a threat model for text.
DEFAULT_BUDGETS: dict[str, EvasionBudget | None] = {
    "image": EvasionBudget(norm="linf", eps=8 / 255, curve=[2 / 255, 4 / 255, 16 / 255]),
    "multimodal": EvasionBudget(norm="linf", eps=8 / 255, curve=[2 / 255, 4 / 255, 16 / 255]),
    "text": None,
    "tabular": EvasionBudget(norm="linf", eps=0.05, curve=[0.01, 0.1]),
    "time-series": EvasionBudget(norm="linf", eps=0.05, curve=[0.01, 0.1]),
    "audio": EvasionBudget(norm="linf", eps=0.002, curve=[0.001, 0.005]),
}


@dataclass
class PlannedTest:
    """One test of the plan with its parameters and the threats it measures."""

    id: str
    params: dict[str, Any]
    threats: list[str]
    reason: str
    scans_files: bool = False
    """True for file scanners (family ``supplychain``): they need target ``files`` or ``paths``."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "params": dict(self.params),
            "threats": list(self.threats),
            "reason": self.reason,
        }


@dataclass
class Plan:
    """The test plan of a threat model."""

    budget: EvasionBudget | None
    """Evasion budget the plan uses (None for text, where Lp budgets do not apply)."""
    tests: list[PlannedTest] = field(default_factory=list)
    """Registered tests to run."""
    planned: dict[str, list[str]] = field(default_factory=dict)
    """Tests aisec does not have yet -> threats they would measure."""
    unavailable: dict[str, list[str]] = field(default_factory=dict)
    """Built-in tests this installation lacks an optional dependency for -> their threats."""
    install_hints: dict[str, str] = field(default_factory=dict)
    """How to install what each unavailable test needs."""
    untested: list[str] = field(default_factory=list)
    """Applicable threats no registered test measures (gaps)."""
    needs_config: dict[str, str] = field(default_factory=dict)
    """Registered tests left out because they need parameters only the user can give."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the ``plan`` of ``aisec threats --format json``)."""
        return {
            "evasion_budget": self.budget.model_dump(mode="json") if self.budget else None,
            "tests": [t.to_dict() for t in self.tests],
            "planned_tests": [{"id": k, "threats": v} for k, v in sorted(self.planned.items())],
            "unavailable_tests": [
                {"id": k, "threats": v, "install": self.install_hints.get(k, "")}
                for k, v in sorted(self.unavailable.items())
            ],
            "untested_threats": list(self.untested),
            "needs_config": [{"id": k, "reason": v} for k, v in sorted(self.needs_config.items())],
        }


#: Planned tests that fit only some modalities (others fit every modality).
PLANNED_MODALITIES: dict[str, tuple[str, ...]] = {
    "inference.attribute": ("tabular",),
    "evasion.text": ("text",),
    "evasion.presentation-attack": ("image", "multimodal", "audio"),
}


PLAN_PARAMS: dict[str, dict[str, Any]] = {
    "inference.membership": {"attack": "rmia", "references": 4},
    "inference.output-modes": {"attack": "rmia", "references": 4, "budget": 300},
}
"""Parameters a plan gives tests beyond the budget: RMIA reaches LiRA's power with few reference
models, so a planned membership test trains four (raise them in the emitted config)."""


def budget_for(profile: SystemProfile) -> EvasionBudget | None:
    """The profile's evasion budget, or the default for its modality (None for text)."""
    return profile.evasion_budget or DEFAULT_BUDGETS[profile.modality]


def fits_modality(test_id: str, cls: type[SecurityTest] | None, modality: str) -> bool:
    """Whether a test suits the profile's input modality.

    Perturbation-budget evasion attacks (family ``evasion``) and tests that declare
    ``array_inputs`` (poisoning with pixel triggers, the backdoor scan, the data-set check)
    need numeric inputs: they do not fit text, whose tests are planned separately.
    """
    if test_id in PLANNED_MODALITIES:
        return modality in PLANNED_MODALITIES[test_id]
    continuous_only = cls is not None and (
        getattr(cls, "family", "") == "evasion" or getattr(cls, "array_inputs", False)
    )
    return not (continuous_only and modality == "text")


def candidate_tests(
    entry: ThreatEntry, registry: Mapping[str, type[SecurityTest]], modality: str
) -> tuple[list[str], list[str]]:
    """(registered, not registered) test ids that measure a catalogue threat and fit the
    modality (:func:`fits_modality`)."""
    named = [
        t
        for t in [*entry.tests, *entry.planned_tests]
        if fits_modality(t, registry.get(t), modality)
    ]
    # Defences (family ``defence``) change the model; a config asks for them, a plan does not.
    declared = [
        tid
        for tid, cls in registry.items()
        if entry.id in getattr(cls, "threats", ())
        and getattr(cls, "family", "") != "defence"
        and fits_modality(tid, cls, modality)
    ]
    registered = list(dict.fromkeys([t for t in named if t in registry] + declared))
    missing = [t for t in named if t not in registry]
    return registered, missing


def choose_tests(
    entry: ThreatEntry, profile: SystemProfile, registered: list[str]
) -> list[tuple[str, str]]:
    """The tests to run for one threat, with the reason each was chosen."""
    if entry.id != "evasion-digital":
        return [(t, f"measures {entry.id}") for t in registered]
    picks: list[tuple[str, str]] = []
    avail = set(registered)
    if "evasion.pgd" in avail:
        picks.append(
            (
                "evasion.pgd",
                "white-box worst case at the threat model's budget, with a robustness curve",
            )
        )
    for tid in ("evasion.apgd-ce", "evasion.apgd-dlr"):
        if tid in avail:
            picks.append((tid, "step-size-free attack that does not depend on tuning"))
    if profile.reveals_scores and "evasion.square" in avail:
        picks.append(
            ("evasion.square", "score-based black-box attack: the deployment reveals scores")
        )
    if set(profile.outputs) <= {"label"} and "evasion.hsj" in avail:
        picks.append(
            ("evasion.hsj", "decision-based black-box attack: the deployment reveals only labels")
        )
    if "evasion.sanity" in avail:
        picks.append(("evasion.sanity", "checks the evaluation for gradient masking"))
    if not picks and registered:
        picks.append((registered[0], f"measures {entry.id}"))
    return picks


def test_params(
    cls: type[SecurityTest], budget: EvasionBudget | None, with_curve: bool
) -> dict[str, Any] | None:
    """Parameters for one test from the budget, keeping only those the test declares.

    Returns None when the test cannot run under the budget (unsupported norm).
    """
    declared = set(getattr(cls, "constraints", {}) or {})
    if budget is None:
        return None if "eps" in declared else {}
    norms = getattr(cls, "supported_norms", None)
    if "norm" in declared and norms is not None and budget.norm not in norms:
        return None
    params: dict[str, Any] = {}
    if "eps" in declared:
        params["eps"] = round(float(budget.eps), 6)
    if "norm" in declared:
        params["norm"] = budget.norm
    if budget.queries is not None and "queries" in declared:
        params["queries"] = int(budget.queries)
    if with_curve and "curve" in declared and budget.curve:
        params["curve"] = sorted({round(float(e), 6) for e in budget.curve})
    return params


def _parameter_problem(cls: type[SecurityTest], params: dict[str, Any]) -> str:
    """Why the test cannot run with these parameters alone (empty when it can)."""
    from aisec.errors import AisecError

    try:
        cls(**params).resolved_params()
    except AisecError as exc:
        return str(exc)
    return ""


def build_plan(
    applicable: list[ThreatEntry],
    profile: SystemProfile,
    registry: Mapping[str, type[SecurityTest]],
) -> Plan:
    """The plan for the applicable threats of a profile."""
    budget = budget_for(profile)
    plan = Plan(budget=budget)
    by_id: dict[str, PlannedTest] = {}
    for entry in applicable:
        registered, missing = candidate_tests(entry, registry, profile.modality)
        for tid in missing:
            hint = needs_extra(tid)
            if hint is None:
                plan.planned.setdefault(tid, []).append(entry.id)
            else:
                plan.unavailable.setdefault(tid, []).append(entry.id)
                plan.install_hints[tid] = hint
        chosen = choose_tests(entry, profile, registered)
        ran = False
        for tid, reason in chosen:
            if tid in by_id:
                by_id[tid].threats.append(entry.id)
                ran = True
                continue
            params = test_params(registry[tid], budget, with_curve=tid == "evasion.pgd")
            if params is None:
                continue
            params = {**PLAN_PARAMS.get(tid, {}), **params}
            problem = _parameter_problem(registry[tid], params)
            if problem:
                plan.needs_config.setdefault(tid, problem)
                continue
            scans = getattr(registry[tid], "family", "") == "supplychain"
            by_id[tid] = PlannedTest(tid, params, [entry.id], reason, scans_files=scans)
            plan.tests.append(by_id[tid])
            ran = True
        if not ran:
            plan.untested.append(entry.id)
    return plan


def placeholder_target(profile: SystemProfile) -> dict[str, Any]:
    """A built-in stand-in target for profiles that name none (replace it with the real one).

    It is marked ``stand_in: true``: its results are shown as indicative only and never change
    the residual risk of the profile's system.
    """
    if profile.technology == "large-model":
        return {"name": "support-bot", "chat": "builtin:support-bot", "stand_in": True}
    builtin = "digits-logreg" if profile.technology == "classical-ml" else "digits-cnn"
    return {
        "name": builtin,
        "builtin": builtin,
        "data": "builtin:digits:test",
        "limit": 200,
        "stand_in": True,
    }


def left_out_tests(plan: Plan, targets: list[dict[str, Any]]) -> dict[str, str]:
    """Planned tests an emitted config leaves out for these targets, with the reason.

    File scanners need a target that lists ``files`` (or their own ``paths``).
    """
    if any(t.get("files") for t in targets):
        return {}
    return {
        t.id: "no target lists `files:`; add the model and data files to a target's `files` "
        "to scan them"
        for t in plan.tests
        if t.scans_files and not t.params.get("paths")
    }
