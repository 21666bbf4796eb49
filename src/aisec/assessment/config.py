"""Assessment configs: YAML files validated by pydantic, with errors that name the bad field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from aisec.errors import ConfigError
from aisec.records import Severity
from aisec.targets.base import OutputMode
from aisec.targets.config import (  # TargetConfig: re-exported
    StrictModel,
    TargetConfig,
    seed_problem,
)

SEVERITIES = [s.value for s in Severity]
OUTPUT_MODES = [m.value for m in OutputMode]


class UnitResources(StrictModel):
    """What one unit needs from the machine that runs it (the Ray executor schedules by it)."""

    cpus: float = Field(1.0, gt=0, description="CPU cores (fractions allowed).")
    gpus: float = Field(0.0, ge=0, description="GPUs (fractions allowed).")
    memory_gb: float | None = Field(
        None, gt=0, description="Memory to reserve, in GiB (default: none reserved)."
    )


class ExecutorConfig(StrictModel):
    """Where the units run: in this process (``local``) or as tasks on a Ray cluster (``ray``).

    Nothing here changes a result, so none of it is part of a run's identity: a run started
    with one executor resumes with the other.
    """

    kind: Literal["local", "ray"] = "local"
    address: str | None = Field(
        None,
        description="Ray only: `auto` (the cluster this machine belongs to), `ray://HOST:PORT` "
        "(Ray Client) or `HOST:PORT`; default: start a local Ray instance.",
    )
    max_retries: int = Field(
        2, ge=0, le=10, description="Ray only: re-runs of a unit whose worker died."
    )
    max_in_flight: int | None = Field(
        None,
        ge=1,
        description="Ray only: units handed to the cluster at once (default: twice the units "
        "its CPUs can run side by side).",
    )
    resources: UnitResources = Field(
        default_factory=UnitResources, description="Ray only: what each unit needs by default."
    )

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        problem = None if v is None else ray_address_problem(v)
        if problem:
            raise ValueError(problem)
        return v


def ray_address_problem(address: str) -> str | None:
    """Why ``address`` is not a Ray address (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``)."""
    if address == "auto":
        return None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if host and port.isdigit() and 0 < int(port) < 65536:
        return None
    return f"must be auto, HOST:PORT or ray://HOST:PORT; got {address!r}"


class TestConfig(StrictModel):
    """One test to run, with its parameters."""

    id: str = Field(description="Registered test id, e.g. evasion.pgd.")
    params: dict[str, Any] = Field(default_factory=dict)
    targets: list[str] | None = Field(None, description="Target names; default: every target.")
    resources: UnitResources | None = Field(
        None, description="What each unit of this test needs (default: the executor's)."
    )


class AssessmentConfig(StrictModel):
    """A whole assessment: targets, tests, seed and the CI threshold."""

    version: Literal[1] = 1
    name: str = "assessment"
    seed: int = Field(0, description="Random seed, 0 to 2**32 - 1.")
    profile: str | None = Field(None, description="System profile (path or builtin:NAME).")
    targets: list[TargetConfig] = Field(min_length=1)
    tests: list[TestConfig] = Field(min_length=1)
    fail_on: str = "high"
    sanity_checks: bool = Field(
        True, description="Add gradient-masking sanity checks for evasion tests."
    )
    executor: ExecutorConfig = Field(
        default_factory=ExecutorConfig, description="Where the units run (local or Ray)."
    )

    @field_validator("seed")
    @classmethod
    def _seed(cls, v: int) -> int:
        problem = seed_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("fail_on")
    @classmethod
    def _severity(cls, v: str) -> str:
        if v.lower() not in SEVERITIES:
            raise ValueError(f"must be one of {', '.join(SEVERITIES)}; got {v!r}")
        return v.lower()

    @model_validator(mode="after")
    def _references(self) -> AssessmentConfig:
        names = [t.name for t in self.targets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"target names must be unique; repeated: {', '.join(dupes)}")
        for i, test in enumerate(self.tests):
            for name in test.targets or []:
                if name not in names:
                    raise ValueError(
                        f"tests[{i}] ({test.id}) names unknown target {name!r}; known: {', '.join(names)}"
                    )
        return self


def run_identity(config: AssessmentConfig) -> dict[str, Any]:
    """The config as it defines a run's results: without where and how its units run."""
    data = config.model_dump(mode="json", exclude={"executor"})
    for test in data["tests"]:
        test.pop("resources", None)
    return data


def _format_error(exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        elif err["type"] == "literal_error" and "expected" in err.get("ctx", {}):
            msg = f"must be one of {err['ctx']['expected']}; got {err.get('input')!r}"
        problems.append(f"{loc}: {msg}")
    return problems


def parse_config(data: Any, source: str = "config") -> AssessmentConfig:
    """Validate a config mapping, reporting every problem at once."""
    if not isinstance(data, dict):
        raise ConfigError(
            [f"expected a mapping at the top level, got {type(data).__name__}"], source
        )
    try:
        config = AssessmentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc), source) from None
    from aisec.registry import available_tests, missing_extras

    known = available_tests()
    unknown = [
        f"tests[{i}].id: unknown test {t.id!r}"
        for i, t in enumerate(config.tests)
        if t.id not in known
    ]
    if unknown:
        unknown.append(f"available tests: {', '.join(known)}")
        unknown.extend(missing_extras())
        raise ConfigError(unknown, source)
    return config


def load_config(path: str | Path) -> AssessmentConfig:
    """Read and validate a YAML assessment config."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError([f"file {str(p)!r} does not exist"], "config")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"not valid YAML{where}: {problem}"], p.name) from None
    except UnicodeDecodeError:
        raise ConfigError(["not UTF-8 text"], p.name) from None
    config = parse_config(data, p.name)
    return _resolve_paths(config, p.parent)


def _resolve_paths(config: AssessmentConfig, base: Path) -> AssessmentConfig:
    """Make relative file paths in targets relative to the config file's folder."""

    def fix(v: str | None) -> str | None:
        if v is None or v.startswith("builtin:") or Path(v).is_absolute():
            return v
        return str((base / v).resolve())

    targets = [
        t.model_copy(
            update={
                "torchscript": fix(t.torchscript),
                "weights": fix(t.weights),
                "data": fix(t.data),
                "train_data": fix(t.train_data),
                "files": [fix(f) for f in t.files],
            }
        )
        for t in config.targets
    ]
    return config.model_copy(update={"targets": targets, "profile": fix(config.profile)})
