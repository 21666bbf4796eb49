"""Fine-pruning: prune the neurons clean inputs leave dormant, then fine-tune on clean data.

Reference: Liu, Dolan-Gavitt, Garg, "Fine-Pruning: Defending Against Backdooring Attacks on
Deep Neural Networks", RAID 2018, arXiv:1805.12185. A backdoor tends to live in neurons that
clean inputs rarely activate. The channels of the last convolution (or, in a network without
one, the features entering the classification head) are pruned in increasing order of their
mean activation on clean data, as long as clean accuracy on the defender's data stays within
``max_accuracy_drop`` of the unpruned model's; the pruned network is then fine-tuned on the
same clean data with the pruned channels kept at zero.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from aisec.targets.views import WhiteBox


@dataclass(frozen=True)
class FinePruned:
    """A fine-pruned model and what was done to it."""

    model: WhiteBox
    """The pruned and fine-tuned model."""
    layer: str
    """Name of the pruned layer."""
    pruned: int
    """Channels (or features) pruned."""
    channels: int
    """Channels (or features) of the layer."""

    @property
    def pruned_fraction(self) -> float:
        """Share of the layer pruned."""
        return self.pruned / max(1, self.channels)


def fine_prune(
    view: WhiteBox,
    x: np.ndarray,
    y: np.ndarray,
    *,
    max_accuracy_drop: float = 0.05,
    max_fraction: float = 0.9,
    fine_tune_epochs: int = 30,
    lr: float = 1e-3,
    seed: int = 0,
) -> FinePruned:
    """Fine-prune ``view``'s network with the defender's clean data ``(x, y)``.

    The caller's model is left untouched: pruning works on a copy.
    """
    import torch
    from torch import nn

    module = copy.deepcopy(view.model).cpu()
    name, layer = _prune_layer(module)
    acts = _mean_activation(view.with_model(module), layer, x)
    order = np.argsort(acts, kind="stable")
    mask = torch.ones(len(acts))

    def apply_mask(_m: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> object:
        shape = (1, -1) + (1,) * (out.ndim - 2)
        return out * mask.view(shape).to(out.device)

    def masked_inputs(_m: nn.Module, inputs: tuple[torch.Tensor, ...]) -> object:
        return (inputs[0] * mask.to(inputs[0].device),)

    if isinstance(layer, nn.Linear):
        handle = layer.register_forward_pre_hook(masked_inputs)
    else:
        handle = layer.register_forward_hook(apply_mask)
    pruned_view = view.with_model(module)
    base = float(np.mean(pruned_view.predict_labels(x) == y))
    pruned = 0
    for ch in order[: int(max_fraction * len(order))]:
        mask[int(ch)] = 0.0
        if float(np.mean(pruned_view.predict_labels(x) == y)) < base - max_accuracy_drop:
            mask[int(ch)] = 1.0
            break
        pruned += 1
    _fine_tune(module, view, x, y, epochs=fine_tune_epochs, lr=lr, seed=seed)
    handle.remove()
    # the mask is folded into the weights, so the saved model needs no hook
    with torch.no_grad():
        if isinstance(layer, nn.Linear):
            layer.weight.mul_(mask.view(1, -1))
        else:
            layer.weight.mul_(mask.view((-1,) + (1,) * (layer.weight.ndim - 1)))
            if layer.bias is not None:
                layer.bias.mul_(mask)
    return FinePruned(view.with_model(module.eval()), name, pruned, len(acts))


def _prune_layer(module: object) -> tuple[str, object]:
    from torch import nn

    assert isinstance(module, nn.Module)
    convs = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Conv2d)]
    if convs:
        return convs[-1]
    linears = [(n, m) for n, m in module.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        from aisec.errors import TargetError

        raise TargetError(
            "fine-pruning needs a network with a Conv2d or Linear layer to prune; this one has "
            "neither"
        )
    return linears[-1]


def _mean_activation(view: WhiteBox, layer: object, x: np.ndarray) -> np.ndarray:
    import torch
    from torch import nn

    assert isinstance(layer, nn.Module)
    sums: list[torch.Tensor] = []

    if isinstance(layer, nn.Linear):

        def keep_in(_m: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            sums.append(inputs[0].detach().relu().sum(0).cpu())

        handle = layer.register_forward_pre_hook(keep_in)
    else:

        def keep_out(_m: nn.Module, _i: object, out: torch.Tensor) -> None:
            dims = [0, *list(range(2, out.ndim))]
            sums.append(out.detach().relu().sum(dim=dims).cpu())

        handle = layer.register_forward_hook(keep_out)
    try:
        view.predict_labels(x)
    finally:
        handle.remove()
    return (torch.stack(sums).sum(0) / len(x)).numpy()


def _fine_tune(
    module: object, view: WhiteBox, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float,
    seed: int,
) -> None:  # fmt: skip
    import torch
    from torch import nn

    assert isinstance(module, nn.Module)
    if epochs <= 0:
        return
    tuned = view.with_model(module)
    for p in module.parameters():
        p.requires_grad_(True)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(order), 32):
            idx = order[i : i + 32]
            opt.zero_grad(set_to_none=True)
            loss_fn(tuned.logits(xt[idx]), yt[idx]).backward()
            opt.step()
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
