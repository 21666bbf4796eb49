"""The target part of an assessment config: which model, which data, which files.

It lives here, below :mod:`aisec.assessment`, so that :mod:`aisec.threat` can check a
profile's targets against the same schema without importing the assessment machinery.
:mod:`aisec.assessment.config` re-exports :class:`TargetConfig`.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_SEED = 2**32 - 1
"""Largest random seed accepted (seeds run from 0 to 2**32 - 1, as NumPy's legacy seeding)."""


def seed_problem(seed: object) -> str | None:
    """What is wrong with ``seed`` as a random seed (None when it is fine)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        return f"must be a whole number from 0 to {MAX_SEED}; got {seed!r}"
    return None


class StrictModel(BaseModel):
    """A frozen pydantic model that rejects unknown fields (every config model is one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetConfig(StrictModel):
    """One model under assessment and the data it is evaluated on."""

    name: str = Field(description="Name used in results and reports.")
    builtin: str | None = Field(None, description="Built-in target name, e.g. digits-cnn.")
    chat: str | None = Field(
        None,
        description=(
            "A chat target: `builtin:support-bot` (the built-in LLM application), "
            "`builtin:smollm2` (the bare model) or `openai:http://HOST:PORT/v1#MODEL` (any "
            "OpenAI-compatible endpoint)."
        ),
    )
    system_prompt: str | None = Field(
        None, description="Chat targets: a text file with the application's system prompt."
    )
    docs: str | None = Field(
        None, description="Chat targets: a folder of .txt/.md documents the application retrieves."
    )
    canary: str | None = Field(
        None, description="Chat targets: the secret planted in the system prompt (for leakage)."
    )
    api_key_env: str | None = Field(
        None, description="`openai:` targets: environment variable holding the API key."
    )
    max_new_tokens: int = Field(48, ge=1, le=4096, description="Chat targets: longest answer.")
    torchscript: str | None = Field(None, description="Path of a TorchScript file.")
    factory: str | None = Field(
        None, description="`package.module:function` building the nn.Module."
    )
    weights: str | None = Field(None, description="safetensors weights for `factory`.")
    input_shape: list[int] | None = Field(
        None, description="Shape of one input, e.g. [1, 8, 8]; every size at least 1."
    )
    bounds: tuple[float, float] = Field(
        (0.0, 1.0), description="Valid input range [low, high], finite, low < high."
    )
    n_classes: int | None = Field(
        None, description="Number of classes, at least 2 (inferred if omitted)."
    )
    output_mode: Literal["logits", "probabilities", "top1_probability", "label_only"] | None = (
        Field(None, description="What the deployment reveals; default: the adapter's.")
    )
    model_outputs: Literal["auto", "logits", "probabilities"] = Field(
        "auto",
        description="What the model's forward pass returns; `auto` detects a final softmax.",
    )
    data: str | None = Field(None, description="`builtin:NAME[:SPLIT]`, or a .npz / .csv path.")
    label_column: str = Field("label", description="Label column for CSV data.")
    train_data: str | None = Field(
        None,
        description=(
            "Training data for tests that retrain (poisoning): `builtin:NAME[:SPLIT]` or a .npz "
            "/ .csv path; default for built-in targets: their data set's train split."
        ),
    )
    recipe: str | None = Field(
        None,
        description=(
            "`package.module:function` with `train(x, y, seed)` returning an nn.Module (or a "
            "target) of the model's architecture; built-in targets carry their own."
        ),
    )

    limit: int | None = Field(
        None, description="Evaluate on a seeded subset of this size (at least 1)."
    )
    files: list[str] = Field(
        default_factory=list, description="Model/data files for supply-chain tests."
    )
    stand_in: bool | None = Field(
        None,
        description=(
            "true: a stand-in for the profile's system (its results never change residual "
            "risk); false: declared equivalent to the system; default: a built-in target of "
            "another modality than the profile's is a stand-in."
        ),
    )

    @field_validator("input_shape")
    @classmethod
    def _shape(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(d < 1 for d in v)):
            raise ValueError(
                f"must be a non-empty list of sizes of at least 1, e.g. [1, 28, 28]; got {v}"
            )
        return v

    @field_validator("bounds")
    @classmethod
    def _bounds(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(math.isfinite(b) for b in v) or v[0] >= v[1]:
            raise ValueError(f"must be [low, high], finite, with low < high; got {list(v)}")
        return v

    @field_validator("n_classes")
    @classmethod
    def _n_classes(cls, v: int | None) -> int | None:
        if v is not None and v < 2:
            raise ValueError(f"must be at least 2 (a classifier needs two classes); got {v}")
        return v

    @field_validator("limit")
    @classmethod
    def _limit(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(
                f"must be at least 1 (a number of samples); got {v}; "
                "leave it out to use every sample"
            )
        return v

    @model_validator(mode="after")
    def _one_source(self) -> TargetConfig:
        sources = [s for s in ("builtin", "torchscript", "factory", "chat") if getattr(self, s)]
        if len(sources) != 1:
            raise ValueError("give exactly one of `builtin`, `torchscript`, `factory` or `chat`")
        if self.factory and not self.weights:
            raise ValueError("`factory` needs `weights` (a safetensors file)")
        if (self.torchscript or self.factory) and not self.input_shape:
            raise ValueError(
                "`input_shape` is required for torchscript/factory models, e.g. [1, 28, 28]"
            )
        return self
