"""Expand an assessment config into self-contained units of work, each keyed by a hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aisec.assessment.config import AssessmentConfig, TargetConfig, UnitResources, run_identity
from aisec.errors import AisecError, ConfigError
from aisec.registry import available_tests, get_test


@dataclass(frozen=True)
class Unit:
    """One test with its parameters on one target, with the run's seed."""

    key: str
    """Hash of everything that determines the result (test, params, target, data, seed)."""
    position: int
    """Order in the plan (reports keep it)."""
    test_id: str
    params: dict[str, Any] = field(hash=False)
    target: str
    seed: int
    automatic: bool = False
    """Added by aisec (e.g. sanity checks) rather than listed in the config."""
    resources: UnitResources = field(default_factory=UnitResources, hash=False, compare=False)
    """What the unit needs from the machine that runs it (not part of its key)."""


def config_hash(config: AssessmentConfig) -> str:
    """Stable hash of a validated config's :func:`run_identity`."""
    blob = json.dumps(run_identity(config), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def unit_key(
    test_id: str, params: dict[str, Any], target: TargetConfig, seed: int, content: str = ""
) -> str:
    """Hash of a unit's inputs: equal keys mean equal results.

    ``content`` is the digest of the target's model, data and files
    (:mod:`aisec.assessment.content`), so a changed file gives new keys.
    """
    blob = json.dumps(
        {
            "test": test_id,
            "params": params,
            "target": target.model_dump(mode="json"),
            "seed": seed,
            "content": content,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def expand(config: AssessmentConfig, content: Mapping[str, str] | None = None) -> list[Unit]:
    """The plan: every (test, target) pair, plus automatic sanity checks; validates all params.

    ``content`` maps target names to their content digests (empty when only planning).
    """
    content = content or {}
    by_name = {t.name: t for t in config.targets}
    units: list[Unit] = []
    problems: list[str] = []
    for i, test in enumerate(config.tests):
        cls = get_test(test.id)
        for name in test.targets or list(by_name):
            params = dict(test.params)
            if (
                getattr(cls, "uses_target_files", False)
                and "paths" not in params
                and by_name[name].files
            ):
                params["paths"] = list(by_name[name].files)
            try:
                cls(**params).resolved_params()
            except AisecError as exc:
                problems.append(f"tests[{i}] ({test.id}): {exc}")
                continue
            units.append(
                Unit(
                    unit_key(test.id, params, by_name[name], config.seed, content.get(name, "")),
                    len(units),
                    test.id,
                    params,
                    name,
                    config.seed,
                    resources=test.resources or config.executor.resources,
                )
            )
    if problems:
        raise ConfigError(problems)
    if config.sanity_checks:
        units.extend(_sanity_units(config, units, by_name, len(units), content))
    return units


def _sanity_units(
    config: AssessmentConfig,
    units: list[Unit],
    by_name: dict[str, TargetConfig],
    start: int,
    content: Mapping[str, str],
) -> list[Unit]:
    """One gradient-masking sanity check per target attacked by a gradient-based L_p attack."""
    tests = available_tests()
    if "evasion.sanity" not in tests:
        return []
    sanity_cls = tests["evasion.sanity"]
    allowed = set(sanity_cls.constraints)
    out: list[Unit] = []
    seen: set[str] = set()
    for u in units:
        cls = tests[u.test_id]
        if cls.family != "evasion" or u.target in seen or "eps" not in u.params:
            continue
        if not any(c.value == "gradients" for c in cls.requires):
            continue
        seen.add(u.target)
        params = {k: v for k, v in u.params.items() if k in ("eps", "norm") and k in allowed}
        if "limit" in allowed:
            params["limit"] = 100  # enough points for the checks, at a fraction of the cost
        key = unit_key(
            "evasion.sanity", params, by_name[u.target], config.seed, content.get(u.target, "")
        )
        out.append(
            Unit(
                key,
                start + len(out),
                "evasion.sanity",
                params,
                u.target,
                config.seed,
                automatic=True,
                resources=config.executor.resources,
            )
        )
    return out
