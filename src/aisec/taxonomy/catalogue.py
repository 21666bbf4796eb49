"""Load, check and search the harmonised threat catalogue shipped in ``aisec/taxonomy/data``."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from pydantic import ValidationError

from aisec.errors import ConfigError
from aisec.taxonomy.model import (
    AiActClause,
    AtlasTechnique,
    AttackPath,
    Framework,
    FrameworkRef,
    ThreatEntry,
)

_PACKAGE = "aisec.taxonomy"
TEST_ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9][a-z0-9-]*$")


def _read(name: str) -> str:
    return resources.files(_PACKAGE).joinpath("data", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue: threats, the frameworks they cite and the Art. 15 clauses."""

    threats: tuple[ThreatEntry, ...]
    """Every threat, in catalogue order."""
    frameworks: dict[str, Framework]
    """Framework key -> pinned framework (titles include the ATLAS extract)."""
    ai_act_clauses: tuple[AiActClause, ...]
    """EU AI Act Art. 15 clauses, in article order."""
    version: int = 1
    paths: tuple[AttackPath, ...] = ()
    """Attack paths: ATLAS techniques that make threats reachable or follow from them."""
    out_of_scope: dict[str, str] = field(default_factory=dict)
    """ML-specific ATLAS technique id -> why the catalogue does not cover it."""
    techniques: dict[str, AtlasTechnique] = field(default_factory=dict)
    """Every technique of the pinned ATLAS version, by id."""

    def paths_for(self, threat_id: str) -> list[AttackPath]:
        """Attack paths that list ``threat_id`` (before their conditions are checked)."""
        return [p for p in self.paths if threat_id in p.threats]

    def get(self, threat_id: str) -> ThreatEntry:
        """The entry for ``threat_id``; ConfigError naming the known ids otherwise."""
        for t in self.threats:
            if t.id == threat_id:
                return t
        raise ConfigError(
            [f"unknown threat id {threat_id!r}; known: {', '.join(self.ids)}"], "threat id"
        )

    @property
    def ids(self) -> list[str]:
        """Every threat id."""
        return [t.id for t in self.threats]

    def clause(self, clause_id: str) -> AiActClause:
        """One Art. 15 clause by id."""
        for c in self.ai_act_clauses:
            if c.id == clause_id:
                return c
        raise KeyError(clause_id)

    def search(self, query: str = "", framework: str | None = None) -> list[ThreatEntry]:
        """Threats whose id, name, description or framework IDs/titles contain ``query``.

        Args:
            query: case-insensitive text; empty matches everything.
            framework: keep only threats with a reference into this framework key
                (``nist``, ``atlas``, ``owasp-ml``, ``owasp-llm``).
        """
        if framework is not None and framework not in self.frameworks:
            allowed = ", ".join(self.frameworks)
            raise ConfigError([f"unknown framework {framework!r}; use one of {allowed}"], "query")
        q = query.strip().lower()
        out = []
        for t in self.threats:
            if framework and not t.refs(framework):
                continue
            hay = " ".join(
                [
                    t.id,
                    t.name,
                    t.description,
                    *t.ai_act,
                    *(f"{r.id} {r.title}" for r in t.references),
                ]
            ).lower()
            if q in hay:
                out.append(t)
        return out

    def threats_for_test(self, test_id: str) -> list[str]:
        """Threat ids whose ``tests`` or ``planned_tests`` name ``test_id``."""
        return [t.id for t in self.threats if test_id in t.tests or test_id in t.planned_tests]


def check_catalogue(
    raw: dict[str, Any], frameworks: dict[str, Framework], clause_ids: set[str]
) -> list[str]:
    """Every problem with a raw catalogue document (schema, ID formats, versions, titles)."""
    problems: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(raw.get("threats") or []):
        where = (
            f"threats[{i}] ({item.get('id', '?')})" if isinstance(item, dict) else f"threats[{i}]"
        )
        try:
            entry = ThreatEntry.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"{where}.{loc}: {err['msg']}")
            continue
        if entry.id in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(entry.id)
        for ref in entry.references:
            fw = frameworks[ref.framework]
            if ref.version != fw.version:
                problems.append(
                    f"{where}: {ref.id} cites {fw.name} {ref.version}; pinned is {fw.version}"
                )
            if not re.match(fw.id_pattern, ref.id):
                problems.append(f"{where}: {ref.id!r} does not have the ID format of {fw.name}")
            elif ref.id not in fw.titles:
                problems.append(f"{where}: {ref.id} is not a known {fw.name} {fw.version} ID")
        for m in [*entry.defences, *entry.controls]:
            if m.atlas and m.atlas not in frameworks["atlas"].titles:
                problems.append(f"{where}: mitigation {m.atlas} is not in the ATLAS extract")
        for clause in entry.ai_act:
            if clause not in clause_ids:
                problems.append(f"{where}: unknown AI Act clause {clause!r}")
        for test_id in [*entry.tests, *entry.planned_tests]:
            if not TEST_ID_PATTERN.match(test_id):
                problems.append(f"{where}: test id {test_id!r} is not of the form family.name")
        if entry.adversarial and not entry.references:
            problems.append(
                f"{where}: an adversarial threat needs at least one framework reference"
            )
    return problems


def check_paths(
    raw: dict[str, Any], techniques: dict[str, AtlasTechnique], threat_ids: set[str]
) -> list[str]:
    """Every problem with the raw attack-path document (schema, ATLAS ids, threat ids)."""
    problems: list[str] = []
    for i, item in enumerate(raw.get("paths") or []):
        where = f"paths[{i}] ({item.get('id', '?')})" if isinstance(item, dict) else f"paths[{i}]"
        try:
            path = AttackPath.model_validate(item)
        except ValidationError as exc:
            problems += [
                f"{where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            ]
            continue
        if path.id not in techniques:
            problems.append(f"{where}: {path.id} is not a technique of the pinned ATLAS version")
        problems += [f"{where}: unknown threat {t!r}" for t in path.threats if t not in threat_ids]
    return problems


def _techniques() -> dict[str, AtlasTechnique]:
    atlas = json.loads(_read("atlas-extract.json"))
    return {
        e["id"]: AtlasTechnique(
            id=e["id"],
            name=e["name"],
            tactics=tuple(e.get("tactics", ())),
            ml_specific=bool(e.get("ml_specific", True)),
            parent=e.get("parent"),
        )
        for e in atlas["entries"]
        if e["id"].startswith("AML.T")
    }


def _frameworks() -> tuple[dict[str, Framework], tuple[AiActClause, ...]]:
    doc = yaml.safe_load(_read("frameworks.yaml"))
    atlas = json.loads(_read("atlas-extract.json"))
    fws: dict[str, Framework] = {}
    for key, fw in doc["frameworks"].items():
        titles = {str(k): str(v) for k, v in (fw.get("titles") or {}).items()}
        if key == "atlas":
            titles = {e["id"]: e["name"] for e in atlas["entries"]}
        fws[key] = Framework(
            key=key,
            name=fw["name"],
            version=str(fw["version"]),
            title=fw["title"],
            url=fw["url"],
            id_pattern=fw["id_pattern"],
            titles=titles,
        )
    clauses = tuple(AiActClause(**c) for c in doc["ai_act"]["clauses"])
    return fws, clauses


@functools.lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """Load and check the shipped catalogue (cached); ConfigError lists every problem."""
    frameworks, clauses = _frameworks()
    raw = yaml.safe_load(_read("catalogue.yaml"))
    problems = check_catalogue(raw, frameworks, {c.id for c in clauses})
    if problems:
        raise ConfigError(problems, "threat catalogue")
    threats = []
    for item in raw["threats"]:
        entry = ThreatEntry.model_validate(item)
        refs = [
            FrameworkRef(
                framework=r.framework,
                version=r.version,
                id=r.id,
                title=frameworks[r.framework].titles[r.id],
            )
            for r in entry.references
        ]
        threats.append(entry.model_copy(update={"references": refs}))
    techniques = _techniques()
    raw_paths = yaml.safe_load(_read("attack-paths.yaml"))
    problems = check_paths(raw_paths, techniques, {t.id for t in threats})
    scope = yaml.safe_load(_read("atlas-scope.yaml")).get("out_of_scope") or {}
    problems += [
        f"atlas-scope: {i} is not an ATLAS technique" for i in scope if i not in techniques
    ]
    if problems:
        raise ConfigError(problems, "attack paths")
    paths = tuple(
        AttackPath.model_validate(
            {**p, "name": techniques[p["id"]].name, "tactics": techniques[p["id"]].tactics}
        )
        for p in raw_paths["paths"]
    )
    return Catalogue(
        threats=tuple(threats),
        frameworks=frameworks,
        ai_act_clauses=clauses,
        version=int(raw.get("version", 1)),
        paths=paths,
        out_of_scope={str(k): " ".join(str(v).split()) for k, v in scope.items()},
        techniques=techniques,
    )


def get_threat(threat_id: str) -> ThreatEntry:
    """Shortcut for ``load_catalogue().get(threat_id)``."""
    return load_catalogue().get(threat_id)
