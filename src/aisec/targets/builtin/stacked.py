"""Train many small MLPs at once: one stacked set of weights, one pass per mini-batch.

Membership inference needs tens of reference models trained like the target, each on its own
subset of the data. Training them one by one spends most of the time in Python and in tiny
matrix products; stacking K models' weights into ``(K, in, out)`` tensors trains all of them
with batched matrix products. Every model sees the same shuffled mini-batches, restricted to
its own samples by a mask, and Adam's update is element-wise, so each stacked model trains as
it would alone on its subset in that order (a model whose subset is exhausted before the
others' in an epoch holds its weights but still takes Adam's momentum on those steps).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class MlpShape:
    """Layer widths of a ReLU MLP, input first, classes last."""

    widths: tuple[int, ...]


class Mlp(nn.Module):
    """A plain ReLU MLP on flattened inputs (the architecture the stacked trainer trains)."""

    def __init__(self, widths: Sequence[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch."""
        return self.net(x)


def train_stacked_mlps(
    widths: Sequence[int],
    x: np.ndarray,
    y: np.ndarray,
    masks: np.ndarray,
    seeds: Sequence[int],
    *,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
) -> list[Mlp]:
    """Train ``len(masks)`` MLPs; model ``k`` trains on ``x[masks[k]]``, initialised with
    ``seeds[k]`` (the same initialisation :class:`Mlp` gets under that seed)."""
    masks = np.asarray(masks, dtype=bool)
    k = len(masks)
    inits = []
    for s in seeds:
        torch.manual_seed(int(s))
        inits.append(Mlp(widths))
    layers = [[m for m in net.net if isinstance(m, nn.Linear)] for net in inits]
    weights = [
        torch.stack([ls[i].weight.detach().T for ls in layers]).requires_grad_(True)
        for i in range(len(widths) - 1)
    ]
    biases = [
        torch.stack([ls[i].bias.detach() for ls in layers]).unsqueeze(1).requires_grad_(True)
        for i in range(len(widths) - 1)
    ]
    opt = torch.optim.Adam([*weights, *biases], lr=lr, weight_decay=weight_decay)
    xt = torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    mt = torch.as_tensor(masks, dtype=torch.float32)
    # Each model steps through its own subset with its own batch count: the global order is
    # shared, the positions within each model's subset decide its mini-batches.
    per_model = mt.sum(dim=1)
    steps = int(np.ceil(per_model.max().item() / batch_size))
    gen = torch.Generator().manual_seed(int(seeds[0]))
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        m_ord = mt[:, order]
        # Each sample's position within its model's subset, in the shuffled order: every
        # model's mini-batches are consecutive runs of its own samples.
        r_ord = torch.cumsum(m_ord, dim=1) - 1
        for step in range(steps):
            lo, hi = step * batch_size, (step + 1) * batch_size
            inb = m_ord * ((r_ord >= lo) & (r_ord < hi)).float()  # (K, N) this step's samples
            used = inb.any(dim=0)
            if not bool(used.any()):
                break
            cols = torch.nonzero(used).squeeze(1)
            w = inb[:, cols]
            h = xt[order[cols]].unsqueeze(0).expand(k, -1, -1)
            for i, (wt, b) in enumerate(zip(weights, biases, strict=True)):
                h = torch.baddbmm(b, h, wt)
                if i < len(weights) - 1:
                    h = torch.relu(h)
            target = yt[order[cols]].unsqueeze(0).expand(k, -1)
            loss_each = nn.functional.cross_entropy(
                h.reshape(-1, h.shape[-1]), target.reshape(-1), reduction="none"
            ).view(k, -1)
            counts = w.sum(dim=1).clamp(min=1.0)
            active = (w.sum(dim=1) > 0).float()
            loss = ((loss_each * w).sum(dim=1) / counts * active).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            # A model with no sample in this step gets no gradient (only Adam's momentum).
            if bool((active == 0).any()):
                for p in (*weights, *biases):
                    if p.grad is not None:
                        p.grad.mul_(active.view(-1, *([1] * (p.dim() - 1))))
            opt.step()
    out = []
    for j in range(k):
        net = Mlp(widths)
        lin = [m for m in net.net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for i, layer in enumerate(lin):
                layer.weight.copy_(weights[i][j].T)
                layer.bias.copy_(biases[i][j, 0])
        out.append(net.eval())
    return out
