"""The target part of an assessment config: which model, which data, which files.

It lives here, below :mod:`aisec.assessment`, so that :mod:`aisec.threat` can check a
profile's targets against the same schema without importing the assessment machinery.
:mod:`aisec.assessment.config` re-exports :class:`TargetConfig`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StrictModel(BaseModel):
    """A frozen pydantic model that rejects unknown fields (every config model is one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetConfig(StrictModel):
    """One model under assessment and the data it is evaluated on."""

    name: str = Field(description="Name used in results and reports.")
    builtin: str | None = Field(None, description="Built-in target name, e.g. digits-cnn.")
    torchscript: str | None = Field(None, description="Path of a TorchScript file.")
    factory: str | None = Field(
        None, description="`package.module:function` building the nn.Module."
    )
    weights: str | None = Field(None, description="safetensors weights for `factory`.")
    input_shape: list[int] | None = Field(None, description="Shape of one input, e.g. [1, 8, 8].")
    bounds: tuple[float, float] = Field((0.0, 1.0), description="Valid input range.")
    n_classes: int | None = Field(
        None, ge=2, description="Number of classes (inferred if omitted)."
    )
    output_mode: Literal["logits", "probabilities", "top1_probability", "label_only"] | None = (
        Field(None, description="What the deployment reveals; default: the adapter's.")
    )
    data: str | None = Field(None, description="`builtin:NAME[:SPLIT]`, or a .npz / .csv path.")
    label_column: str = Field("label", description="Label column for CSV data.")
    limit: int | None = Field(None, ge=1, description="Evaluate on a seeded subset of this size.")
    files: list[str] = Field(
        default_factory=list, description="Model/data files for supply-chain tests."
    )

    @model_validator(mode="after")
    def _one_source(self) -> TargetConfig:
        sources = [s for s in ("builtin", "torchscript", "factory") if getattr(self, s)]
        if len(sources) != 1:
            raise ValueError("give exactly one of `builtin`, `torchscript` or `factory`")
        if self.factory and not self.weights:
            raise ValueError("`factory` needs `weights` (a safetensors file)")
        if (self.torchscript or self.factory) and not self.input_shape:
            raise ValueError(
                "`input_shape` is required for torchscript/factory models, e.g. [1, 28, 28]"
            )
        if self.bounds[0] >= self.bounds[1]:
            raise ValueError(
                f"`bounds` must be [low, high] with low < high; got {list(self.bounds)}"
            )
        return self
