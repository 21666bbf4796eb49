"""The threat model of one system: threat records derived from its profile, and the test plan."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aisec.taxonomy import ThreatEntry, load_catalogue
from aisec.threat.notes import profile_notes
from aisec.threat.paths import PathRecord, attack_paths
from aisec.threat.plan import (
    Plan,
    build_plan,
    candidate_tests,
    left_out_tests,
    placeholder_target,
)
from aisec.threat.profile import SystemProfile
from aisec.threat.rules import LEVELS, RULES, Outcome, risk_level

if TYPE_CHECKING:
    from aisec.base import SecurityTest


@dataclass(frozen=True)
class ThreatRecord:
    """One catalogue threat, judged against one profile."""

    entry: ThreatEntry
    """The catalogue entry (names, crosswalk, defences, controls)."""
    applicable: bool
    """Whether the profile's facts make the threat apply."""
    rationale: str
    """Which profile facts make it apply or not, in one sentence."""
    likelihood: int
    """1 (very low) to 5 (very high); 0 when not applicable."""
    impact: int
    """1 (very low) to 5 (very high); 0 when not applicable."""
    likelihood_factors: tuple[tuple[int, str], ...] = ()
    """The rule's likelihood terms (points, reason)."""
    impact_factors: tuple[tuple[int, str], ...] = ()
    """The rule's impact terms (points, reason)."""
    tests: tuple[str, ...] = ()
    """Registered aisec tests that measure it."""
    planned_tests: tuple[str, ...] = ()
    """Tests that would measure it but are not registered yet."""
    attack_paths: tuple[PathRecord, ...] = ()
    """ATLAS techniques that make the threat reachable or follow from it, for this profile."""

    @property
    def atlas_ids(self) -> list[str]:
        """ATLAS technique ids of the threat itself (not its paths)."""
        return [i for i in self.entry.ids("atlas") if i.startswith("AML.T")]

    @property
    def id(self) -> str:
        """Catalogue threat id."""
        return self.entry.id

    @property
    def name(self) -> str:
        """Catalogue name."""
        return self.entry.name

    @property
    def risk(self) -> int:
        """Inherent risk score: likelihood x impact (0 when not applicable)."""
        return self.likelihood * self.impact

    @property
    def risk_level(self) -> str:
        """none, low, medium, high or critical."""
        return risk_level(self.risk)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the threat records of ``aisec threats --format json`` and ``report.json``."""
        e = self.entry
        return {
            "id": e.id,
            "name": e.name,
            "description": e.description,
            "applicable": self.applicable,
            "rationale": self.rationale,
            "likelihood": self.likelihood,
            "likelihood_label": LEVELS.get(self.likelihood, "none"),
            "impact": self.impact,
            "impact_label": LEVELS.get(self.impact, "none"),
            "risk": self.risk,
            "risk_level": self.risk_level,
            "factors": {
                "likelihood": [{"points": p, "reason": r} for p, r in self.likelihood_factors],
                "impact": [{"points": p, "reason": r} for p, r in self.impact_factors],
            },
            "attacker": e.attacker.model_dump(mode="json"),
            "lifecycle_stages": list(e.lifecycle_stages),
            "technology_levels": list(e.technology_levels),
            "attack_points": list(e.attack_points),
            "nist": e.ids("nist"),
            "atlas": self.atlas_ids,
            "attack_paths": [p.to_dict() for p in self.attack_paths],
            "owasp": e.ids("owasp-ml", "owasp-llm"),
            "references": [r.to_dict() for r in e.references],
            "ai_act": list(e.ai_act),
            "tests": list(self.tests),
            "planned_tests": list(self.planned_tests),
            "defences": [m.model_dump(mode="json") for m in e.defences],
            "controls": [m.model_dump(mode="json") for m in e.controls],
        }


@dataclass
class ThreatModel:
    """Applicable (and ruled-out) threats of a profile, with the test plan that follows."""

    profile: SystemProfile
    """The system profile it was derived from."""
    threats: list[ThreatRecord]
    """Every catalogue threat, applicable first, then by inherent risk."""
    plan: Plan
    """Tests to run, planned tests and untested threats."""
    catalogue_version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """Where a profile field the profile leaves out would sharpen the result."""

    def techniques(self) -> dict[str, list[str]]:
        """ATLAS technique id -> applicable threat ids it is named by, as the threat's own
        technique or one of its attack paths (a sub-technique also names its parent)."""
        out: dict[str, list[str]] = {}
        catalogue = load_catalogue()
        for t in self.applicable:
            for tid in [*t.atlas_ids, *(p.id for p in t.attack_paths)]:
                parent = catalogue.techniques[tid].parent if tid in catalogue.techniques else None
                for i in filter(None, (tid, parent)):
                    if t.id not in out.setdefault(i, []):
                        out[i].append(t.id)
        return out

    @property
    def applicable(self) -> list[ThreatRecord]:
        """Applicable threats only."""
        return [t for t in self.threats if t.applicable]

    def get(self, threat_id: str) -> ThreatRecord:
        """The record of one threat id."""
        for t in self.threats:
            if t.id == threat_id:
                return t
        raise KeyError(threat_id)

    def to_dict(self) -> dict[str, Any]:
        """``{"profile": {...}, "threats": [...], "plan": {...}}``: the output of
        ``aisec threats --format json`` and the ``threat_model`` key of ``report.json``."""
        return {
            "profile": self.profile.to_dict(),
            "threats": [t.to_dict() for t in self.threats],
            "plan": self.plan.to_dict(),
            "notes": list(self.notes),
        }

    def left_out(self, targets: list[dict[str, Any]] | None = None) -> dict[str, str]:
        """Planned tests :meth:`plan_config` leaves out for these targets, with the reason."""
        chosen = targets if targets is not None else self.profile.targets or []
        return left_out_tests(self.plan, chosen)

    def plan_config(self, targets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A ready assessment config (the format of ``aisec assess``) running the plan.

        Args:
            targets: assessment targets in config format. Default: the profile's ``targets``,
                or a built-in placeholder (``digits-cnn``, or ``digits-logreg`` for classical
                ML) to be replaced by the real system.

        Returns:
            A dict with ``version``, ``name``, ``seed``, ``profile`` (when the profile came from
            a file or a built-in), ``targets``, ``tests`` and ``fail_on``. File scanners are left
            out when no target lists ``files`` (they would have nothing to scan).
        """
        chosen = (
            targets
            if targets is not None
            else self.profile.targets or [placeholder_target(self.profile)]
        )
        config: dict[str, Any] = {
            "version": 1,
            "name": f"{self.profile.name}-threat-plan",
            "seed": 0,
        }
        if self.profile.source:
            config["profile"] = self.profile.source
        config["targets"] = copy.deepcopy(list(chosen))
        left_out = left_out_tests(self.plan, chosen)
        config["tests"] = [
            {"id": t.id, "params": dict(t.params)} for t in self.plan.tests if t.id not in left_out
        ]
        config["fail_on"] = "high"
        return config


def _rationale(entry: ThreatEntry, outcome: Outcome) -> str:
    facts = "; ".join(outcome.reasons)
    if outcome.applicable:
        return f"Applies: {facts}."
    return f"Does not apply: {facts}."


def derive_threats(
    profile: SystemProfile, registry: Mapping[str, type[SecurityTest]] | None = None
) -> ThreatModel:
    """Derive the threat model of a profile from the catalogue and the documented rules.

    Args:
        profile: a validated :class:`SystemProfile` (see :func:`load_profile`).
        registry: test id -> class; default: ``aisec.registry.available_tests()``.

    Returns:
        A :class:`ThreatModel`: one :class:`ThreatRecord` per catalogue threat (applicable
        ones first, by inherent risk) and the test :class:`~aisec.threat.plan.Plan`.
    """
    if registry is None:
        from aisec.registry import available_tests

        registry = available_tests()
    catalogue = load_catalogue()
    records = []
    for entry in catalogue.threats:
        technology_ok = profile.technology in entry.technology_levels
        rule = RULES.get(entry.id)
        if rule is None:
            outcome = Outcome(
                True,
                ["no specific rule: listed as applicable by default"],
                [(3, "default")],
                [(3, "default")],
            )
        else:
            outcome = rule(profile)
        if outcome.applicable and not technology_ok:
            levels = ", ".join(entry.technology_levels)
            outcome = Outcome(
                False,
                [f"{profile.technology} is not among the technology levels it targets ({levels})"],
            )
        available, missing = candidate_tests(entry, registry, profile.modality)
        records.append(
            ThreatRecord(
                entry=entry,
                applicable=outcome.applicable,
                rationale=_rationale(entry, outcome),
                likelihood=outcome.score(outcome.likelihood),
                impact=outcome.score(outcome.impact),
                likelihood_factors=tuple(outcome.likelihood) if outcome.applicable else (),
                impact_factors=tuple(outcome.impact) if outcome.applicable else (),
                tests=tuple(available),
                planned_tests=tuple(missing),
                attack_paths=attack_paths(profile, entry.id) if outcome.applicable else (),
            )
        )
    order = {e.id: i for i, e in enumerate(catalogue.threats)}
    records.sort(key=lambda r: (not r.applicable, -r.risk, order[r.id]))
    plan = build_plan([r.entry for r in records if r.applicable], profile, registry)
    return ThreatModel(
        profile=profile,
        threats=records,
        plan=plan,
        catalogue_version=catalogue.version,
        notes=profile_notes(profile, {r.id for r in records if r.applicable}),
    )
