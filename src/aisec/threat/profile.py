"""The system profile: the facts about an AI system that its threat model follows from.

A profile is a YAML file (or a built-in, ``builtin:NAME``, shipped in ``aisec/profiles``)
validated with pydantic. Every invalid field is reported at once, with its allowed values.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aisec.errors import ConfigError

Technology = Literal["classical-ml", "deep-learning", "large-model"]
Task = Literal["classification", "regression", "detection", "generation", "agent"]
Modality = Literal["image", "tabular", "text", "audio", "time-series", "multimodal"]
DataSource = Literal["in-house", "third-party", "user-generated", "web-scraped", "feedback-loop"]
Provenance = Literal["trained-in-house", "fine-tuned", "third-party-pretrained"]
Exposure = Literal["internal", "public-api", "on-device", "physical-world"]
Output = Literal[
    "label", "scores", "explanations", "generated-text", "generated-code", "embeddings"
]
Sensitivity = Literal["public", "internal", "personal", "special-category"]
Criticality = Literal["low", "medium", "high", "safety-critical"]
RiskClass = Literal["minimal", "limited", "high", "gpai", "prohibited"]
ModelFormat = Literal[
    "safetensors",
    "pickle",
    "pytorch",
    "joblib",
    "torchscript",
    "onnx",
    "gguf",
    "keras",
    "savedmodel",
    "tflite",
    "coreml",
    "other",
]
Hosting = Literal["self-hosted", "provider-api"]
SoftwareSource = Literal[
    "public-package-index",
    "pre-release-builds",
    "container-registry",
    "hosted-notebooks",
    "pinned-and-hashed",
]
Biometric = Literal["none", "trusted-sensor", "user-device"]
ModelValue = Literal["low", "medium", "high", "very-high"]
Norm = Literal["linf", "l2", "l1"]

_BUILTIN_PREFIX = "builtin:"
_PROFILES_PACKAGE = "aisec"
_PROFILES_DIR = "profiles"


class EvasionBudget(BaseModel):
    """The perturbation budget of the evasion threat model (in input units)."""

    model_config = ConfigDict(extra="forbid")

    norm: Norm = "linf"
    """Norm of the perturbation."""
    eps: float = Field(gt=0)
    """Budget at which robustness is judged."""
    curve: list[float] = Field(default_factory=list)
    """Further budgets for the robustness curve."""
    queries: int | None = Field(default=None, ge=1)
    """Attacker's query budget per input for black-box attacks (the test's default if None)."""


class ToolSpec(BaseModel):
    """One tool an LLM agent can call, described by what it lets the model read and do."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    """Tool name, e.g. ``web-browsing`` or ``send-email``."""
    reads_untrusted: bool = False
    """The tool returns content that third parties can write (web pages, e-mail, tickets)."""
    acts: bool = False
    """The tool changes something or sends data out (writes, sends, pays, runs code)."""
    third_party: bool = False
    """The tool (plug-in, MCP server, skill) is made or hosted by someone else."""
    described: bool = Field(default=True, exclude=True)
    """False for tools given by name only (treated as reading untrusted content and acting)."""


def _tool(value: Any) -> Any:
    """A plain tool name is an undescribed tool: assume the worst (it reads and acts)."""
    if isinstance(value, str):
        return ToolSpec(name=value, reads_untrusted=True, acts=True, described=False)
    return value


class SystemProfile(BaseModel):
    """Facts about an AI system, from which :func:`aisec.threat.derive_threats` works.

    Every field is documented in docs/threat-modelling.md with the rules it drives.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """Short name (letters, digits, ``.``, ``_``, ``-``)."""
    description: str = ""
    """What the system does, in a sentence."""
    technology: Technology
    """Technology level: classical-ml, deep-learning or large-model."""
    task: Task
    """What the model does."""
    modality: Modality
    """Input data modality."""
    data_sources: list[DataSource] = Field(default_factory=lambda: ["in-house"], min_length=1)
    """Where training data comes from (feedback-loop: the system learns from its own use)."""
    provenance: Provenance = "trained-in-house"
    """How the model was obtained."""
    exposure: list[Exposure] = Field(min_length=1)
    """How the deployed system is reached (physical-world: it senses the world, e.g. a camera)."""
    outputs: list[Output] = Field(min_length=1)
    """What each answer reveals."""
    tools: list[ToolSpec] = Field(default_factory=list)
    """Tools an LLM agent can call: ``{name, reads_untrusted, acts, third_party}``, or a plain
    name (then assumed to read untrusted content and to act)."""
    untrusted_content: bool = False
    """The model reads third-party content at run time (retrieval, web, e-mail, tool results)."""
    training_data_sensitivity: Sensitivity = "public"
    """Sensitivity of the training data."""
    criticality: Criticality = "medium"
    """Consequence of a wrong or unavailable output."""
    ai_act_risk_class: RiskClass = "minimal"
    """Risk class under the EU AI Act."""
    model_formats: list[ModelFormat] = Field(default_factory=list)
    """Formats of the model files in the supply chain (pickle-based ones can execute code)."""
    evasion_budget: EvasionBudget | None = None
    """Perturbation budget for evasion tests; a default per modality otherwise."""
    accuracy_target: float | None = Field(default=None, ge=0, le=1)
    """Declared clean accuracy (Art. 15(3)); measured accuracy below it fails the clause."""
    model_hosting: Hosting = "self-hosted"
    """Where the model runs: ``self-hosted`` (the organisation loads the model files) or
    ``provider-api`` (the application calls a model hosted by a provider)."""
    software_sources: list[SoftwareSource] = Field(default_factory=list)
    """Where the ML software stack comes from (frameworks, packages, images, notebooks)."""
    biometric: Biometric = "none"
    """Whether the system checks identity from biometric input, and who captures it:
    ``trusted-sensor`` (the operator's camera or reader) or ``user-device`` (the user's phone
    or webcam, where captured frames can be replaced)."""
    model_value: ModelValue | None = None
    """What the model is worth to its owner (cost to train, competitive edge); drives the impact
    of theft. Default: low for public third-party models, medium otherwise."""
    targets: list[dict[str, Any]] = Field(default_factory=list)
    """Assessment targets in the config format; a built-in placeholder is used when empty."""

    source: str = Field(default="", exclude=True)
    """Where the profile was loaded from (``builtin:NAME`` or an absolute path)."""

    @field_validator("tools", mode="before")
    @classmethod
    def _tools(cls, value: Any) -> Any:
        return [_tool(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _consistent(self) -> SystemProfile:
        problems = []
        if self.tools and self.technology != "large-model":
            problems.append(
                "`tools` is for LLM agents; set `technology: large-model` or remove `tools`"
            )
        if self.model_hosting == "provider-api" and self.technology != "large-model":
            problems.append(
                "`model_hosting: provider-api` is for applications calling a hosted large model; "
                "set `technology: large-model` or `model_hosting: self-hosted`"
            )
        for generated in ("generated-text", "generated-code"):
            if generated in self.outputs and self.technology != "large-model":
                problems.append(f"`outputs: {generated}` needs `technology: large-model`")
        problems += _target_problems(self.targets)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def is_llm(self) -> bool:
        """True for large (language) models."""
        return self.technology == "large-model"

    @property
    def self_hosted(self) -> bool:
        """True when the organisation stores and loads the model files itself."""
        return self.model_hosting == "self-hosted"

    @property
    def tools_read_untrusted(self) -> list[str]:
        """Names of tools whose results third parties can write."""
        return [t.name for t in self.tools if t.reads_untrusted]

    @property
    def tools_act(self) -> list[str]:
        """Names of tools that change something or send data out."""
        return [t.name for t in self.tools if t.acts]

    @property
    def reads_untrusted(self) -> bool:
        """True when third-party content reaches the model (retrieval, web, tool results)."""
        return self.untrusted_content or bool(self.tools_read_untrusted)

    @property
    def tool_names(self) -> list[str]:
        """Names of every tool."""
        return [t.name for t in self.tools]

    @property
    def value(self) -> str:
        """Model value: declared, or low for public third-party models and medium otherwise."""
        if self.model_value:
            return self.model_value
        return "low" if self.provenance == "third-party-pretrained" else "medium"

    @property
    def reveals_scores(self) -> bool:
        """True when answers include per-class scores or embeddings."""
        return bool({"scores", "embeddings", "explanations"} & set(self.outputs))

    @property
    def public(self) -> bool:
        """True when anyone outside the organisation can reach the system."""
        return bool({"public-api", "physical-world", "on-device"} & set(self.exposure))

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the ``profile`` of ``aisec threats --format json``)."""
        out = self.model_dump(mode="json")
        out["tools"] = [{**t.model_dump(mode="json"), "described": t.described} for t in self.tools]
        out["source"] = self.source
        return out


def _target_problems(targets: list[dict[str, Any]]) -> list[str]:
    """Check profile targets against the assessment config's target schema."""
    from aisec.targets.config import TargetConfig

    problems = []
    for i, t in enumerate(targets):
        try:
            TargetConfig.model_validate(t)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                where = f"targets[{i}]" + (f".{loc}" if loc else "")
                problems.append(f"`{where}`: {err['msg'].removeprefix('Value error, ')}")
    return problems


def _allowed(field_type: Any) -> str:
    args = get_args(field_type)
    while args and not all(isinstance(a, str) for a in args):
        args = get_args(args[0])
    return ", ".join(args)


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int)) or "profile"
        if err["type"] == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            out.append(f"`{loc}` must be one of {expected}; got {err.get('input')!r}")
        elif err["type"] == "extra_forbidden":
            known = ", ".join(sorted(k for k in SystemProfile.model_fields if k != "source"))
            out.append(f"unknown field `{loc}`; known fields: {known}")
        elif err["type"] == "missing":
            out.append(f"`{loc}` is required")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            out.append(f"`{loc}`: {msg}" if loc != "profile" else msg)
    return out


def builtin_profiles() -> list[str]:
    """Names of the built-in profiles (``builtin:NAME``)."""
    folder = resources.files(_PROFILES_PACKAGE).joinpath(_PROFILES_DIR)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def parse_profile(data: Any, source: str = "") -> SystemProfile:
    """Validate a profile mapping; ConfigError lists every problem with allowed values."""
    where = f"profile {source}" if source else "profile"
    if not isinstance(data, dict):
        raise ConfigError([f"a profile must be a YAML mapping; got {type(data).__name__}"], where)
    if "source" in data:
        raise ConfigError(["`source` is set by aisec when loading; remove it"], where)
    try:
        profile = SystemProfile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_problems(exc), where) from None
    return profile.model_copy(update={"source": source})


def load_profile(ref: str | Path) -> SystemProfile:
    """Load a system profile from a YAML path or ``builtin:NAME``.

    Args:
        ref: a path to a YAML file, or ``builtin:NAME`` for a profile shipped with aisec
            (``digits-classifier``, ``traffic-sign-camera``, ``llm-agent``, ``tabular-credit``,
            ``third-party-pretrained``).

    Returns:
        The validated :class:`SystemProfile`; its ``source`` is ``builtin:NAME`` or the
        absolute path.

    Raises:
        ConfigError: the profile is missing or invalid (every problem is named, with the
            field and its allowed values).
    """
    text_ref = str(ref)
    if text_ref.startswith(_BUILTIN_PREFIX):
        name = text_ref[len(_BUILTIN_PREFIX) :]
        names = builtin_profiles()
        if name not in names:
            raise ConfigError(
                [f"unknown built-in profile {name!r}; available: {', '.join(names)}"], "profile"
            )
        text = (
            resources.files(_PROFILES_PACKAGE)
            .joinpath(_PROFILES_DIR, f"{name}.yaml")
            .read_text(encoding="utf-8")
        )
        source = text_ref
    else:
        path = Path(text_ref)
        if not path.is_file():
            hint = ", ".join(f"builtin:{n}" for n in builtin_profiles())
            raise ConfigError(
                [f"profile file {text_ref!r} not found; give a YAML path or one of {hint}"],
                "profile",
            )
        text = path.read_text(encoding="utf-8")
        source = str(path.resolve())
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            [f"not valid YAML: {exc}".replace("\n", " ")], f"profile {source}"
        ) from None
    return parse_profile(data, source)


ALLOWED = {
    name: _allowed(field.annotation)
    for name, field in SystemProfile.model_fields.items()
    if _allowed(field.annotation)
}
"""Allowed values per enumerated profile field (for docs and error messages)."""
