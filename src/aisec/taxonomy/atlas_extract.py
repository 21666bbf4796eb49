"""Regenerate ``data/atlas-extract.json``: the (id, name) pairs of the MITRE ATLAS data the
catalogue uses, so the full ATLAS file (about 450 KB) need not ship with aisec.

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
    "that aisec's catalogue references."
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


def build_extract(atlas: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    """The extract document: source version, attribution and sorted (id, name) entries."""
    matrix = atlas["matrices"][0]
    names = {t["id"]: t["name"] for t in matrix.get("techniques", [])}
    names.update({m["id"]: m["name"] for m in matrix.get("mitigations", [])})
    missing = sorted(wanted - names.keys())
    if missing:
        raise SystemExit(f"ATLAS {atlas.get('version')} lacks ids used by the catalogue: {missing}")
    return {
        "framework": "MITRE ATLAS",
        "version": str(atlas.get("version")),
        "license": "Apache-2.0",
        "attribution": ATTRIBUTION,
        "entries": [{"id": i, "name": names[i]} for i in sorted(wanted)],
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
