"""Build targets and data sets from their config entries."""

from __future__ import annotations

from aisec.assessment.config import TargetConfig
from aisec.data import Dataset, load_data
from aisec.data.builtin import load_builtin
from aisec.data.splits import TEST, TRAIN, Splits
from aisec.targets.base import OutputMode, Target
from aisec.targets.builtin import builtin_entry
from aisec.targets.torch import TorchClassifier


def build_target(tc: TargetConfig) -> Target:
    """Load the model a target entry describes, through safe loading paths only."""
    if tc.chat:
        from aisec.targets.chat_targets import chat_target

        return chat_target(
            tc.chat,
            name=tc.name,
            system_prompt=tc.system_prompt,
            docs=tc.docs,
            canary=tc.canary,
            api_key_env=tc.api_key_env,
            max_new_tokens=tc.max_new_tokens,
        )
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
    if tc.recipe:
        from dataclasses import replace

        from aisec.targets.recipes import recipe_from_reference

        if not isinstance(target, TorchClassifier):
            from aisec.errors import ConfigError

            raise ConfigError([f"targets.{tc.name}.recipe: only PyTorch targets take a recipe"])
        target = replace(
            target, recipe=recipe_from_reference(tc.recipe, target, factory=tc.factory)
        )
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


def build_train_data(tc: TargetConfig) -> Dataset | None:
    """The training data a target entry names (built-ins: their data set's train split)."""
    ref = tc.train_data
    if ref is None:
        if not tc.builtin:
            return None
        return load_builtin(builtin_entry(tc.builtin).dataset + ":train")
    if ref.startswith("builtin:"):
        return load_builtin(ref.removeprefix("builtin:"))
    return load_data(ref, label=tc.label_column)


def unit_data(test: Dataset, train: Dataset | None) -> Dataset | Splits:
    """What a unit reads: the evaluation data, with the training split beside it when known."""
    if train is None:
        return test
    return Splits({TRAIN: train, TEST: test}, test.name)
