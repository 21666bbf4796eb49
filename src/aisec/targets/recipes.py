"""Training recipes: how to train a target's architecture again on other data.

Poisoning, backdoor and privacy tests retrain (shadow models, poisoned copies); a recipe gives
them the same architecture and training procedure the target was built with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TrainingRecipe:
    """A named function ``train(x, y, seed) -> Target`` plus its hyper-parameters."""

    name: str
    """Short name, e.g. ``digits-cnn``."""
    train: Callable[[np.ndarray, np.ndarray, int], Any]
    """Trains a fresh model on ``(x, y)`` with ``seed`` and returns it wrapped as a target."""
    params: tuple[tuple[str, Any], ...] = ()
    """Hyper-parameters, for reports."""
    train_many: Callable[[np.ndarray, np.ndarray, np.ndarray, Sequence[int]], list[Any]] | None = (
        None
    )
    """Optional batched form, ``train_many(x, y, masks, seeds)``: one model per row of the
    boolean ``masks`` (which samples of ``x`` it trains on), all in one sweep."""
    module: Callable[[], Any] | None = None
    """Optional factory of the untrained ``nn.Module``, for training procedures aisec runs
    itself on the same architecture (differentially private training)."""
    deploy: Callable[[Any], Any] | None = None
    """With ``module``: wraps a trained module as a target deployed like the recipe's models."""
    fit: tuple[tuple[str, Any], ...] = ()
    """With ``module``: the optimiser settings (``epochs``, ``lr``, ``batch_size``)."""

    def train_all(
        self, x: np.ndarray, y: np.ndarray, masks: np.ndarray, seeds: Sequence[int]
    ) -> list[Any]:
        """One model per row of ``masks`` (batched when the recipe can, else one by one)."""
        if self.train_many is not None:
            return self.train_many(x, y, masks, seeds)
        return [self.train(x[m], y[m], s) for m, s in zip(masks, seeds, strict=True)]


def recipe_from_reference(
    reference: str, like: Any, *, factory: str | None = None
) -> TrainingRecipe:
    """A recipe from ``package.module:function`` training on ``(x, y, seed)``.

    The function may return a target, or an ``nn.Module`` that is then deployed as ``like``
    (a :class:`~aisec.targets.torch.TorchClassifier`) is: same spec, output mode and
    normalisation. With ``factory`` (the target's own ``package.module:function`` building the
    untrained architecture), the recipe also gives aisec the module, for training procedures it
    runs itself (DP-SGD).
    """
    from aisec.errors import TargetError
    from aisec.supplychain.loading import import_factory

    function = import_factory(reference)

    def train(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
        try:
            made = function(x, y, seed)
        except Exception as exc:  # the user's training code failed: say where, not a traceback
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise TargetError(
                f"the training recipe {reference} failed: {type(exc).__name__}: {first}; it "
                "must accept (x, y, seed) and return an nn.Module or a target"
            ) from None
        if hasattr(made, "capabilities"):
            return made
        from torch import nn

        if isinstance(made, nn.Module) and hasattr(like, "with_model"):
            return like.with_model(made)
        raise TargetError(
            f"the training recipe {reference} returned {type(made).__name__}; it must return "
            "an nn.Module (or a target)"
        )

    if factory is None or not hasattr(like, "with_model"):
        return TrainingRecipe(reference, train)
    return TrainingRecipe(reference, train, module=import_factory(factory), deploy=like.with_model)
