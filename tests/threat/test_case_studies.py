"""MITRE ATLAS case studies as the threat model's regression set.

Each file in ``case_studies/`` describes the victim system of one ATLAS case study as a profile,
written from the case study's summary alone (not from the attack), with the incident's main
threat and the ML-specific techniques its procedure used (``techniques``, taken from the pinned
ATLAS data file; a test checks them against it when that file is on the machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from aisec.taxonomy import load_catalogue
from aisec.threat import derive_threats, parse_profile

CASES = sorted((Path(__file__).parent / "case_studies").glob("AML.CS*.yaml"))
ATLAS_YAML = Path("/work/shared/taxonomies/mitre-atlas/ATLAS.yaml")


def _case(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem.split("-")[0])
def test_every_technique_of_the_incident_is_surfaced(path: Path) -> None:
    case = _case(path)
    tm = derive_threats(parse_profile(case["profile"], str(path)))
    surfaced = tm.techniques()
    missing = [t for t in case["techniques"] if t not in surfaced]
    assert missing == [], f"{case['case_study']}: not among threats or attack paths: {missing}"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem.split("-")[0])
def test_the_main_threat_ranks_in_the_top_three(path: Path) -> None:
    case = _case(path)
    tm = derive_threats(parse_profile(case["profile"], str(path)))
    ranked = [t.id for t in tm.applicable]
    assert case["main_threat"] in ranked[:3], (
        f"{case['case_study']}: {case['main_threat']} ranks "
        f"{ranked.index(case['main_threat']) + 1 if case['main_threat'] in ranked else 'n/a'}; "
        f"top: {[(t.id, t.risk) for t in tm.applicable[:4]]}"
    )


def test_the_regression_set_spans_the_kinds_of_incident() -> None:
    mains = {_case(p)["main_threat"] for p in CASES}
    assert len(CASES) >= 25
    assert {
        "evasion-digital",
        "evasion-physical",
        "biometric-spoofing",
        "data-poisoning",
        "model-poisoning-supply-chain",
        "ml-software-supply-chain",
        "prompt-injection-direct",
        "prompt-injection-indirect",
        "model-extraction",
    } <= mains
    assert set(mains) <= set(load_catalogue().ids)


@pytest.mark.skipif(not ATLAS_YAML.is_file(), reason="the full ATLAS data file is not here")
def test_recorded_techniques_are_those_of_the_atlas_procedures() -> None:
    atlas = yaml.safe_load(ATLAS_YAML.read_text(encoding="utf-8"))
    techniques = {t["id"]: t for t in atlas["matrices"][0]["techniques"]}
    studies = {c["id"]: c for c in atlas["case-studies"]}
    for path in CASES:
        case = _case(path)
        steps = [s["technique"] for s in studies[case["case_study"]]["procedure"]]
        ml = [t for t in dict.fromkeys(steps) if "ATT&CK-reference" not in techniques[t]]
        assert case["techniques"] == ml, case["case_study"]
        assert case["title"] == studies[case["case_study"]]["name"]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem.split("-")[0])
def test_the_emitted_plan_is_a_valid_config_or_empty(path: Path) -> None:
    from aisec.assessment.config import parse_config

    tm = derive_threats(parse_profile(_case(path)["profile"], str(path)))
    config = tm.plan_config()
    if config["tests"]:
        parsed = parse_config(config)
        assert all(t.stand_in for t in parsed.targets)
        if tm.profile.modality == "text":
            assert not [t for t in parsed.tests if t.id.startswith("evasion.")]


INDEPENDENT = sorted((Path(__file__).parent / "case_studies_independent").glob("AML.CS*.yaml"))


def test_profiles_written_without_the_rules_keep_their_measured_rates() -> None:
    """The same case studies described by an analyst who had not read the rules.

    Measured when they were written: every technique surfaced in 29 of 29 incidents (28 of 29
    before on-device models counted as queried) and the analyst's main threat in the top three
    in 24 of 29; docs/threat-modelling.md lists the misses. The floors catch regressions.
    """
    surfaced = top3 = 0
    for path in INDEPENDENT:
        case = _case(path)
        tm = derive_threats(parse_profile(case["profile"], str(path)))
        found = tm.techniques()
        surfaced += all(t in found for t in case["techniques"])
        top3 += case["main_threat"] in [t.id for t in tm.applicable][:3]
    assert len(INDEPENDENT) == 29
    assert surfaced == 29 and top3 >= 24, (surfaced, top3)
