"""Deliberately masked versions of a model, for the tests of gradient-masking warnings.

pytest puts this folder on ``sys.path`` for the tests beside it (``from masked_models import``).
"""

from __future__ import annotations

import torch
from torch import nn

from aisec.targets.torch import TorchClassifier


class Quantised(nn.Module):
    """Rounds inputs to the 1/16 grid of the digits before the model: zero gradients."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(torch.round(x * 16) / 16)


class Saturated(nn.Module):
    """Multiplies the logits by 1000: softmax saturates and cross-entropy gradients vanish."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * 1000.0


class SquareRoot(nn.Module):
    """The model on sqrt(x) squared: the same function, with infinite gradients at zero."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(torch.sqrt(x) ** 2)


def wrap(base: TorchClassifier, module: type[nn.Module]) -> TorchClassifier:
    """``base``'s network inside ``module``, as a target named after the module."""
    return TorchClassifier(model=module(base.model), spec=base.spec, name=module.__name__.lower())
