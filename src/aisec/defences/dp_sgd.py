"""Differentially private training (DP-SGD) through Opacus, on the target's architecture.

DP-SGD (Abadi et al., CCS 2016) clips every sample's gradient to ``max_grad_norm`` and adds
Gaussian noise to each batch's sum; the accountant turns the noise, the sampling rate and the
number of steps into an ``(epsilon, delta)`` guarantee. aisec trains the recipe's own module
with Opacus (``make_private_with_epsilon``, Poisson sampling, the RDP accountant), so the
guarantee is the library's, not ours; the model is then deployed as the recipe deploys it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aisec.errors import MissingExtraError, TargetError
from aisec.extras import is_missing
from aisec.targets.base import Target
from aisec.targets.recipes import TrainingRecipe


@dataclass(frozen=True)
class DpSettings:
    """What DP-SGD is asked for."""

    epsilon: float = 8.0
    """Target epsilon of the whole training."""
    delta: float = 1e-5
    """Delta of the guarantee (well below one over the training-set size)."""
    max_grad_norm: float = 1.0
    """Per-sample gradient clipping norm."""
    epochs: int = 30
    """Passes over the data (the accountant charges each)."""
    lr: float = 1e-3
    """Adam learning rate."""
    batch_size: int = 64
    """Expected batch size (Poisson sampling)."""


@dataclass(frozen=True)
class DpModel:
    """A model trained with DP-SGD and the guarantee it carries."""

    target: Target
    """The trained model, deployed as the recipe deploys its models."""
    epsilon: float
    """Epsilon spent at ``delta`` (the accountant's figure)."""
    delta: float
    """Delta of the guarantee."""
    noise_multiplier: float
    """Noise standard deviation relative to the clipping norm."""


def dp_train(
    recipe: TrainingRecipe, x: np.ndarray, y: np.ndarray, seed: int, settings: DpSettings
) -> DpModel:
    """Train ``recipe``'s architecture on ``(x, y)`` with DP-SGD."""
    if recipe.module is None or recipe.deploy is None:
        raise TargetError(
            f"DP-SGD trains the recipe's module itself, and the recipe {recipe.name!r} gives "
            "none; use a built-in target or a recipe with `module` and `deploy`"
        )
    try:
        from opacus import PrivacyEngine
    except ModuleNotFoundError as exc:
        if not is_missing(exc, "opacus"):
            raise
        raise MissingExtraError(
            "DP-SGD needs Opacus: pip install 'aisec[privacy]' (or pip install opacus)"
        ) from None
    import hashlib

    from aisec.targets.builtin.cache import cached_tensors
    from aisec.targets.builtin.training import load_numpy_state, state_to_numpy

    h = hashlib.sha256(repr((recipe.name, recipe.params, settings, seed, x.shape)).encode())
    h.update(np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())

    def fit() -> dict[str, np.ndarray]:
        module, spent, noise = _fit(recipe, x, y, seed, settings, PrivacyEngine)
        return {
            **{f"m.{k}": v for k, v in state_to_numpy(module).items()},
            "epsilon": np.array([spent]),
            "noise_multiplier": np.array([noise]),
        }

    state = cached_tensors(f"{recipe.name}-dp-{h.hexdigest()[:24]}", fit)
    own = {k[2:]: v for k, v in state.items() if k.startswith("m.")}
    module = load_numpy_state(recipe.module(), own)
    return DpModel(
        recipe.deploy(module),
        float(state["epsilon"][0]),
        settings.delta,
        float(state["noise_multiplier"][0]),
    )


def _fit(
    recipe: TrainingRecipe,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    settings: DpSettings,
    engine_type: Any,
) -> tuple[Any, float, float]:
    import warnings

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    assert recipe.module is not None
    torch.manual_seed(seed)
    model = recipe.module()
    gen = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        TensorDataset(
            torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
        ),
        batch_size=settings.batch_size,
        shuffle=True,
        generator=gen,
    )
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Opacus warns about its non-secure RNG and hooks
        engine = engine_type(accountant="rdp", secure_mode=False)
        model, opt, loader = engine.make_private_with_epsilon(
            module=model,
            optimizer=opt,
            data_loader=loader,
            target_epsilon=settings.epsilon,
            target_delta=settings.delta,
            epochs=settings.epochs,
            max_grad_norm=settings.max_grad_norm,
            noise_generator=torch.Generator().manual_seed(seed + 1),
        )
        loss_fn = nn.CrossEntropyLoss()
        model.train()
        for _ in range(settings.epochs):
            for xb, yb in loader:
                if len(xb) == 0:
                    continue
                opt.zero_grad(set_to_none=True)
                loss_fn(model(xb), yb).backward()
                opt.step()
        spent = float(engine.get_epsilon(settings.delta))
    trained = model._module if hasattr(model, "_module") else model
    return trained.eval(), spent, float(opt.noise_multiplier)


def dp_recipe(recipe: TrainingRecipe, settings: DpSettings) -> TrainingRecipe:
    """A recipe that trains ``recipe``'s architecture with DP-SGD (for reference models)."""

    def train(x: np.ndarray, y: np.ndarray, seed: int) -> Target:
        return dp_train(recipe, x, y, seed, settings).target

    return TrainingRecipe(
        f"{recipe.name}+dp-sgd",
        train,
        (*recipe.params, ("dp_epsilon", settings.epsilon), ("dp_delta", settings.delta)),
        module=recipe.module,
        deploy=recipe.deploy,
    )
