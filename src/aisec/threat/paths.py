"""Attack paths of a profile: which ATLAS access, preparation and consequence techniques exist.

Each path of ``aisec/taxonomy/data/attack-paths.yaml`` names a condition; the conditions are the
documented profile predicates below (docs/threat-modelling.md). A path is shown with a threat
when the threat applies, the path lists it, and the condition holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aisec.taxonomy import AttackPath, load_catalogue
from aisec.threat.profile import SystemProfile

Condition = Callable[[SystemProfile], bool]


def _queried(p: SystemProfile) -> bool:
    return bool({"public-api", "internal", "on-device"} & set(p.exposure))


def _product(p: SystemProfile) -> bool:
    return p.public or p.is_llm or p.biometric != "none"


CONDITIONS: dict[str, Condition] = {
    "always": lambda p: True,
    "queried": _queried,
    "product": _product,
    "queried_or_product": lambda p: _queried(p) or _product(p),
    "public": lambda p: p.public,
    "on_device": lambda p: "on-device" in p.exposure,
    "physical": lambda p: "physical-world" in p.exposure,
    "sensor_capture": lambda p: "physical-world" in p.exposure or p.biometric != "none",
    "self_hosted": lambda p: p.self_hosted,
    "weights_obtainable": lambda p: (
        p.self_hosted and ("on-device" in p.exposure or p.provenance == "third-party-pretrained")
    ),
    "public_models": lambda p: (
        p.provenance != "trained-in-house" or p.is_llm or "on-device" in p.exposure
    ),
    "classifier": lambda p: p.task in ("classification", "detection"),
    "llm": lambda p: p.is_llm,
    "public_llm": lambda p: p.is_llm and p.public,
    "llm_reachable": lambda p: p.is_llm and (p.public or p.reads_untrusted),
    "reads_untrusted": lambda p: p.reads_untrusted,
    "tools": lambda p: bool(p.tools),
    "tools_act": lambda p: bool(p.tools_act),
    "registry": lambda p: "container-registry" in p.software_sources,
    "generated_text": lambda p: bool({"generated-text", "generated-code"} & set(p.outputs)),
    "public_or_llm": lambda p: p.public or p.is_llm,
    "societal": lambda p: p.public and (p.is_llm or p.criticality in ("high", "safety-critical")),
    "user_harm": lambda p: (
        p.public or p.is_llm or p.training_data_sensitivity in ("personal", "special-category")
    ),
}
"""Condition name -> predicate on the profile (the ``when`` of an attack path)."""

CONDITION_TEXT: dict[str, str] = {
    "always": "any system",
    "queried": "the model answers queries (public or internal API, or on the device)",
    "product": "the model is part of a product people use",
    "queried_or_product": "the model answers queries or is part of a product",
    "public": "reachable from outside the organisation",
    "on_device": "runs on devices that users control",
    "physical": "senses the physical world",
    "sensor_capture": "input comes from a camera or other sensor",
    "self_hosted": "the organisation stores and loads the model files",
    "weights_obtainable": "the weights can be obtained (public model or on-device)",
    "public_models": "the model or its family is public",
    "classifier": "the model classifies or detects",
    "llm": "a large model",
    "public_llm": "a large model reachable from outside",
    "llm_reachable": "a large model that outsiders' text reaches",
    "reads_untrusted": "third-party content reaches the model",
    "tools": "the model calls tools",
    "tools_act": "a tool acts (writes, sends, runs code)",
    "registry": "models or software come from a container registry",
    "generated_text": "the system generates free text",
    "public_or_llm": "public, or a large model",
    "societal": "public, and a large model or a high-criticality system",
    "user_harm": "public, a large model, or trained on personal data",
}
"""Condition name -> the plain-language condition (docs and reports)."""


@dataclass(frozen=True)
class PathRecord:
    """One attack path that exists for a profile and leads to (or follows from) a threat."""

    path: AttackPath

    @property
    def id(self) -> str:
        """ATLAS technique id."""
        return self.path.id

    def to_dict(self) -> dict[str, Any]:
        """JSON form: id, name, kind, tactics and why it exists."""
        return {
            "id": self.path.id,
            "name": self.path.name,
            "kind": self.path.kind,
            "tactics": list(self.path.tactics),
            "why": self.path.why,
            "condition": CONDITION_TEXT.get(self.path.when, self.path.when),
        }


def unknown_conditions() -> list[str]:
    """Conditions named in the shipped attack paths that no predicate defines."""
    return sorted({p.when for p in load_catalogue().paths} - CONDITIONS.keys())


def attack_paths(profile: SystemProfile, threat_id: str) -> tuple[PathRecord, ...]:
    """The attack paths of one threat that exist for the profile, each technique once."""
    seen: set[str] = set()
    out = []
    for path in load_catalogue().paths_for(threat_id):
        condition = CONDITIONS.get(path.when)
        if condition is None or path.id in seen or not condition(profile):
            continue
        seen.add(path.id)
        out.append(PathRecord(path))
    return tuple(out)
