"""Regenerate ``data/atlas-extract.json``: the identifiers, names and tactics of every MITRE ATLAS
technique and mitigation, so the full ATLAS file (about 450 KB) need not ship with aisec.

The extract is what the coverage check (``aisec.taxonomy.coverage``) compares the catalogue
against: every ML-specific technique (one with no ATT&CK counterpart) must be a threat's
reference, an attack path, or marked out of scope with a reason.

Run ``python -m aisec.taxonomy.atlas_extract PATH/TO/ATLAS.yaml`` after editing the catalogue or
moving to another ATLAS release (then update the pinned version in ``data/frameworks.yaml``).
The extract keeps MITRE's Apache-2.0 attribution.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
EXTRACT = DATA_DIR / "atlas-extract.json"
ATTRIBUTION = (
    "MITRE ATLAS (Adversarial Threat Landscape for AI Systems), Copyright 2021-2025 MITRE, "
    "licensed under the Apache License 2.0. This file lists only the identifiers and names "
    "aisec's catalogue checks its coverage against."
)


def referenced_atlas_ids(catalogue: dict[str, Any]) -> set[str]:
    """Every ATLAS technique and mitigation id the catalogue names (with parent techniques)."""
    ids: set[str] = set()
    for entry in catalogue.get("threats", []):
        for ref in entry.get("references", []):
            if ref.get("framework") == "atlas":
                ids.add(str(ref["id"]))
        for item in [*entry.get("defences", []), *entry.get("controls", [])]:
            if item.get("atlas"):
                ids.add(str(item["atlas"]))
    parents = {i.rsplit(".", 1)[0] for i in ids if i.count(".") == 2}
    return ids | parents


def technique_entries(atlas: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per technique: id, name, tactic names, parent and whether it is ML-specific
    (no ATT&CK counterpart; a sub-technique is judged by its own reference)."""
    matrix = atlas["matrices"][0]
    tactics = {t["id"]: t["name"] for t in matrix.get("tactics", [])}
    techniques = {t["id"]: t for t in matrix.get("techniques", [])}
    out = []
    for t in techniques.values():
        parent = t.get("subtechnique-of")
        tactic_ids = t.get("tactics") or techniques.get(parent, {}).get("tactics", [])
        entry: dict[str, Any] = {
            "id": t["id"],
            "name": t["name"],
            "tactics": [tactics[i] for i in tactic_ids if i in tactics],
            "ml_specific": "ATT&CK-reference" not in t,
        }
        if parent:
            entry["parent"] = parent
        out.append(entry)
    return out


def build_extract(atlas: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """The extract document: source version, attribution, every technique and mitigation."""
    matrix = atlas["matrices"][0]
    entries = technique_entries(atlas)
    entries += [{"id": m["id"], "name": m["name"]} for m in matrix.get("mitigations", [])]
    missing = sorted(wanted - {e["id"] for e in entries})
    if missing:
        raise SystemExit(f"ATLAS {atlas.get('version')} lacks ids used by the catalogue: {missing}")
    return {
        "framework": "MITRE ATLAS",
        "version": str(atlas.get("version")),
        "license": "Apache-2.0",
        "attribution": ATTRIBUTION,
        "entries": sorted(entries, key=lambda e: e["id"]),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: read ATLAS.yaml and the catalogue, write the extract."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("atlas_yaml", type=Path, help="the ATLAS.yaml data file")
    parser.add_argument("--output", type=Path, default=EXTRACT)
    args = parser.parse_args(argv)
    atlas = yaml.safe_load(args.atlas_yaml.read_text(encoding="utf-8"))
    catalogue = yaml.safe_load((DATA_DIR / "catalogue.yaml").read_text(encoding="utf-8"))
    extract = build_extract(atlas, referenced_atlas_ids(catalogue))
    args.output.write_text(json.dumps(extract, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(extract['entries'])} ATLAS entries to {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
