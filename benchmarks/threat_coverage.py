"""Threat-model coverage of real incidents: MITRE ATLAS techniques and case studies.

Prints (1) how many ML-specific techniques of the pinned ATLAS version the catalogue covers as
threats, attack paths or declared out of scope, and (2) for both case-study profile sets in
tests/threat (``case_studies``: the regression set; ``case_studies_independent``: written
without reading the rules), the share of the incidents' ML-specific techniques that the
applicable threats and their attack paths name, and how often the incident's main threat ranks
in the top three.

Run: ``.venv/bin/python benchmarks/threat_coverage.py``
"""

from __future__ import annotations

from pathlib import Path

import yaml

from aisec.taxonomy.coverage import atlas_coverage
from aisec.threat import derive_threats, parse_profile

TESTS = Path(__file__).resolve().parents[1] / "tests" / "threat"


def case_rates(folder: Path) -> tuple[int, int, int, int, int]:
    """(incidents, techniques named, techniques used, incidents fully named, main in top 3)."""
    named = used = full = top3 = 0
    cases = sorted(folder.glob("AML.CS*.yaml"))
    for path in cases:
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        tm = derive_threats(parse_profile(case["profile"], str(path)))
        found = tm.techniques()
        hits = sum(t in found for t in case["techniques"])
        named += hits
        used += len(case["techniques"])
        full += hits == len(case["techniques"])
        top3 += case["main_threat"] in [t.id for t in tm.applicable][:3]
    return len(cases), named, used, full, top3


def main() -> None:
    """Print the coverage table."""
    rows = atlas_coverage()
    threats = sum(bool(r.threats) for r in rows)
    paths = sum(bool(r.paths) and not r.threats for r in rows)
    scoped = sum(bool(r.out_of_scope) for r in rows)
    print(f"ATLAS ML-specific techniques: {len(rows)}")
    print(f"  as threats {threats}, as attack paths only {paths}, out of scope {scoped},")
    print(f"  not covered {sum(not r.covered for r in rows)}")
    print(
        f"{'profile set':26} {'incidents':>9} {'techniques named':>17} {'all named':>9} {'main in top 3':>13}"
    )
    for name in ("case_studies", "case_studies_independent"):
        n, named, used, full, top3 = case_rates(TESTS / name)
        print(
            f"{name:26} {n:9d} {named:>8d}/{used:<3d} {named / used:5.0%} {full:>5d}/{n:<3d}"
            f" {top3:>9d}/{n} {top3 / n:4.0%}"
        )


if __name__ == "__main__":
    main()
