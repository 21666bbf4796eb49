"""How the catalogue covers the pinned MITRE ATLAS version.

Every ML-specific technique (one with no ATT&CK counterpart) must be the reference of a threat,
an attack path, or listed out of scope with a reason in ``atlas-scope.yaml``. A technique with
sub-techniques is reached wherever one of them is.
``python -m aisec.taxonomy.coverage`` prints the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from aisec.taxonomy.catalogue import Catalogue, load_catalogue


@dataclass(frozen=True)
class TechniqueCoverage:
    """How one ATLAS technique is covered."""

    id: str
    name: str
    tactics: tuple[str, ...]
    threats: tuple[str, ...]
    """Threats that cite it as their own technique."""
    paths: tuple[str, ...]
    """Threats it is an attack path of."""
    out_of_scope: str
    """Why it is not covered (empty when covered)."""

    @property
    def covered(self) -> bool:
        """Cited by a threat, an attack path, or out of scope with a reason."""
        return bool(self.threats or self.paths or self.out_of_scope)


def atlas_coverage(catalogue: Catalogue | None = None) -> list[TechniqueCoverage]:
    """Coverage of every ML-specific technique of the pinned ATLAS version, in id order."""
    catalogue = catalogue or load_catalogue()
    cited: dict[str, list[str]] = {}
    for t in catalogue.threats:
        for i in t.ids("atlas"):
            cited.setdefault(i, []).append(t.id)
    via: dict[str, list[str]] = {}
    for p in catalogue.paths:
        via.setdefault(p.id, []).extend(x for x in p.threats if x not in via.get(p.id, []))
    # A sub-technique is one way of doing its parent: the parent is reached wherever a child is.
    for tech in catalogue.techniques.values():
        if tech.parent:
            reached = [*cited.get(tech.id, ()), *via.get(tech.id, ())]
            inherited = via.setdefault(tech.parent, [])
            inherited.extend(x for x in reached if x not in inherited)
    return [
        TechniqueCoverage(
            id=tech.id,
            name=tech.name,
            tactics=tech.tactics,
            threats=tuple(cited.get(tech.id, ())),
            paths=tuple(via.get(tech.id, ())),
            out_of_scope=catalogue.out_of_scope.get(tech.id, ""),
        )
        for tech in sorted(catalogue.techniques.values(), key=lambda x: x.id)
        if tech.ml_specific
    ]


def main() -> int:
    """Print the coverage table; exit 1 when a technique is not covered."""
    rows = atlas_coverage()
    for r in rows:
        how = (
            "threat: " + ", ".join(r.threats)
            if r.threats
            else "path of: " + ", ".join(r.paths)
            if r.paths
            else "out of scope"
            if r.out_of_scope
            else "NOT COVERED"
        )
        print(f"{r.id:14} {r.name[:48]:48} {how}")
    missing = [r.id for r in rows if not r.covered]
    print(f"{len(rows) - len(missing)} of {len(rows)} ML-specific techniques covered")
    return 1 if missing else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
