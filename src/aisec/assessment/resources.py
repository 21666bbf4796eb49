"""Build targets and data sets from their config entries."""

from __future__ import annotations

from aisec.assessment.config import TargetConfig
from aisec.data import Dataset, load_data
from aisec.data.builtin import load_builtin
from aisec.targets.base import OutputMode, Target
from aisec.targets.builtin import builtin_entry
from aisec.targets.torch import TorchClassifier


def build_target(tc: TargetConfig) -> Target:
    """Load the model a target entry describes, through safe loading paths only."""
    if tc.builtin:
        target = builtin_entry(tc.builtin).load()
    elif tc.torchscript:
        target = TorchClassifier.from_torchscript(
            tc.torchscript,
            input_shape=tc.input_shape or [],
            n_classes=tc.n_classes,
            bounds=tc.bounds,
            outputs=tc.model_outputs,
        )
    else:
        assert tc.factory and tc.weights
        target = TorchClassifier.from_factory(
            tc.factory,
            tc.weights,
            input_shape=tc.input_shape or [],
            n_classes=tc.n_classes,
            bounds=tc.bounds,
            outputs=tc.model_outputs,
        )
    target.name = tc.name
    if tc.output_mode:
        target = target.with_output_mode(OutputMode(tc.output_mode))
    return target


def build_data(tc: TargetConfig, seed: int) -> Dataset:
    """Load the data a target entry names (default: its built-in data set's test split)."""
    ref = tc.data
    if ref is None:
        if not tc.builtin:
            from aisec.errors import ConfigError

            raise ConfigError(
                [f"targets.{tc.name}.data: required for non-built-in targets (.npz or .csv)"]
            )
        data = load_builtin(builtin_entry(tc.builtin).dataset + ":test")
    elif ref.startswith("builtin:"):
        data = load_builtin(ref.removeprefix("builtin:"))
    else:
        data = load_data(ref, label=tc.label_column)
    return data.subset(tc.limit, seed=seed)
