"""Typed records of the harmonised threat catalogue, validated with pydantic on load."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LifecycleStage = Literal[
    "design", "data-collection", "training", "validation", "deployment", "operation"
]
TechnologyLevel = Literal["classical-ml", "deep-learning", "large-model"]
Knowledge = Literal["white-box", "grey-box", "black-box", "none"]
AttackerCapability = Literal[
    "training-data-control",
    "model-control",
    "testing-data-control",
    "query-access",
    "resource-control",
    "source-code-control",
    "physical-access",
    "none",
]
AttackPoint = Literal[
    "data-sources",
    "training",
    "model-artifact",
    "model",
    "serving",
    "inference-input",
    "outputs",
    "retrieval",
    "tools",
    "sensor",
]
FrameworkKey = Literal["nist", "atlas", "owasp-ml", "owasp-llm"]

LIFECYCLE_STAGES: tuple[str, ...] = LifecycleStage.__args__  # type: ignore[attr-defined]
TECHNOLOGY_LEVELS: tuple[str, ...] = TechnologyLevel.__args__  # type: ignore[attr-defined]
ATTACK_POINTS: tuple[str, ...] = AttackPoint.__args__  # type: ignore[attr-defined]
FRAMEWORK_KEYS: tuple[str, ...] = FrameworkKey.__args__  # type: ignore[attr-defined]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrameworkRef(_Frozen):
    """One reference into an external framework: framework, pinned version and ID together."""

    framework: FrameworkKey
    """Framework key: ``nist``, ``atlas``, ``owasp-ml`` or ``owasp-llm``."""
    version: str
    """Pinned version of the framework (``E2025``, ``5.6.0``, ``2023``, ``2025``)."""
    id: str
    """Identifier in that framework, e.g. ``NISTAML.022``, ``AML.T0015``, ``ML01:2023``."""
    title: str = ""
    """Title of the ID in that framework (filled in by the loader)."""

    @property
    def label(self) -> str:
        """``ID Title`` for tables."""
        return f"{self.id} {self.title}".strip()

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {
            "framework": self.framework,
            "version": self.version,
            "id": self.id,
            "title": self.title,
        }


class Mitigation(_Frozen):
    """A defence (technical) or control (organisational), optionally an ATLAS mitigation."""

    name: str = Field(min_length=3)
    """Plain-language name, shared across threats so that rankings can add up."""
    atlas: str | None = None
    """MITRE ATLAS mitigation id (``AML.M....``), when one matches."""


class AttackerModel(_Frozen):
    """What an attacker needs to mount the threat (NIST AI 100-2 dimensions)."""

    goal: str
    """Attacker objective: integrity, availability, privacy, misuse, system-compromise, none."""
    knowledge: list[Knowledge] = Field(min_length=1)
    """Knowledge levels under which the attack works."""
    capabilities: list[AttackerCapability] = Field(min_length=1)
    """Capabilities the attacker must have."""


class ThreatEntry(_Frozen):
    """One threat of the catalogue, with its crosswalk to every framework."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]+$")
    """Catalogue id, e.g. ``evasion-digital`` (used in tests' ``threats`` and in findings)."""
    name: str
    """Short name."""
    description: str = Field(min_length=20)
    """Plain-language description."""
    adversarial: bool
    """False for threats with no attacker (natural corruptions)."""
    lifecycle_stages: list[LifecycleStage] = Field(min_length=1)
    """Lifecycle stages the threat targets."""
    attacker: AttackerModel
    """Attacker knowledge, capabilities and goal."""
    technology_levels: list[TechnologyLevel] = Field(min_length=1)
    """Technology levels it applies to."""
    attack_points: list[AttackPoint] = Field(min_length=1)
    """Where it hits the data-flow diagram."""
    references: list[FrameworkRef]
    """Crosswalk into NIST AI 100-2, MITRE ATLAS, OWASP ML and LLM Top 10."""
    ai_act: list[str] = Field(min_length=1)
    """EU AI Act Art. 15 clauses it evidences (ids from ``frameworks.yaml``)."""
    tests: list[str]
    """Registered aisec tests that measure it."""
    planned_tests: list[str] = Field(default_factory=list)
    """Tests that do not exist yet (used automatically once they are registered)."""
    defences: list[Mitigation] = Field(min_length=1)
    """Technical defences."""
    controls: list[Mitigation] = Field(min_length=1)
    """Organisational controls."""

    def refs(self, framework: str) -> list[FrameworkRef]:
        """References into one framework."""
        return [r for r in self.references if r.framework == framework]

    def ids(self, *frameworks: str) -> list[str]:
        """IDs in the given frameworks, in catalogue order."""
        return [r.id for r in self.references if r.framework in frameworks]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return self.model_dump(mode="json")


PathKind = Literal["preparation", "access", "consequence"]


class AttackPath(_Frozen):
    """An ATLAS technique that makes threats reachable or follows from them, and when."""

    id: str = Field(pattern=r"^AML\.T\d{4}(\.\d{3})?$")
    """ATLAS technique id."""
    kind: PathKind
    """preparation (before the attack), access (how the model is reached) or consequence."""
    when: str = Field(pattern=r"^[a-z_]+$")
    """Name of the profile condition under which the path exists (aisec.threat.paths)."""
    why: str = Field(min_length=10)
    """Why the path exists for a system that meets the condition, in a phrase."""
    threats: list[str] = Field(min_length=1)
    """Catalogue threats the path leads to (or follows from)."""
    name: str = ""
    """ATLAS name of the technique (filled in by the loader)."""
    tactics: tuple[str, ...] = ()
    """ATLAS tactics of the technique (filled in by the loader)."""


class AtlasTechnique(_Frozen):
    """One technique of the pinned ATLAS version (from the shipped extract)."""

    id: str
    name: str
    tactics: tuple[str, ...] = ()
    ml_specific: bool = True
    """False for techniques adapted from ATT&CK (conventional cyber techniques)."""
    parent: str | None = None


class AiActClause(_Frozen):
    """One clause of EU AI Act Article 15 that evidence is arranged by."""

    id: str
    title: str
    summary: str


class Framework(_Frozen):
    """An external framework: pinned version, ID format and titles."""

    key: str
    name: str
    version: str
    title: str
    url: str
    id_pattern: str
    titles: dict[str, str]
