"""Small, deterministic training loops shared by the built-in targets' recipes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn


def train_classifier(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
) -> nn.Module:
    """Train ``model`` with Adam and cross-entropy on ``(x, y)``; fully seeded."""
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return model.eval()


def state_to_numpy(model: nn.Module) -> dict[str, np.ndarray]:
    """A model's state dict as numpy arrays (for safetensors)."""
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def load_numpy_state(model: nn.Module, state: dict[str, np.ndarray]) -> nn.Module:
    """Load numpy arrays into ``model`` (strict) and switch it to eval mode."""
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return model.eval()


def cached_torch_model(
    key: str,
    make_model: Callable[[], nn.Module],
    train: Callable[[np.ndarray, np.ndarray], Any],
    dataset: str,
) -> nn.Module:
    """The weights cached under ``key`` in a fresh ``make_model()``; when the cache is missing or
    does not verify, ``train(x, y)`` on the built-in ``dataset``'s train split builds them."""
    from aisec.data.builtin import load_builtin
    from aisec.targets.builtin.cache import cached_tensors

    def build() -> dict[str, np.ndarray]:
        data = load_builtin(f"{dataset}:train")
        return state_to_numpy(train(data.x, data.y).model)

    return load_numpy_state(make_model(), cached_tensors(key, build))
