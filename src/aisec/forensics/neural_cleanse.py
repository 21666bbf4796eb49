"""Trigger reverse-engineering in the style of Neural Cleanse, every class at once.

Reference: Wang et al., "Neural Cleanse: Identifying and Mitigating Backdoor Attacks in Neural
Networks", IEEE S&P 2019. For each class ``t``, a mask ``m`` (one value per pixel, shared by
the channels) and a pattern ``p`` are optimised so that ``(1 - m) * x + m * p`` is classified
as ``t`` for clean ``x``, while the mask's L1 norm is penalised with a weight adjusted during
the run (raised while the trigger succeeds, lowered while it does not). A backdoor's target
class needs a much smaller trigger than the others: the anomaly index of each class is its
distance below the median L1 norm in units of the median absolute deviation (times 1.4826,
the consistency constant of a normal distribution), and an index above 2 flags the model.

All classes are optimised in one batched problem (one forward pass over ``classes x batch``
inputs per step), which is what makes a scan take seconds rather than minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aisec import progress
from aisec.attacks.poisoning.triggers import Trigger
from aisec.targets.views import Differentiable

MAD_CONSISTENCY = 1.4826
"""Scales the median absolute deviation to a standard deviation under normality."""
ANOMALY_THRESHOLD = 2.0
"""Anomaly index above which a class is flagged (the paper's choice)."""


@dataclass(frozen=True)
class ReverseEngineered:
    """The smallest trigger found for each class."""

    triggers: tuple[Trigger, ...]
    """Per class: mask (``1 x H x W``) and pattern (sample shape)."""
    l1: np.ndarray
    """Mask L1 norm per class."""
    success: np.ndarray
    """Fraction of clean inputs the trigger sends to its class."""


def anomaly_indices(l1: np.ndarray) -> np.ndarray:
    """Per class, how far below the median its L1 norm lies, in consistent MADs."""
    l1 = np.asarray(l1, np.float64)
    median = float(np.median(l1))
    mad = MAD_CONSISTENCY * float(np.median(np.abs(l1 - median)))
    return (median - l1) / max(mad, 1e-12)


def reverse_engineer(
    model: Differentiable,
    x: np.ndarray,
    *,
    steps: int = 400,
    batch_size: int = 32,
    lr: float = 0.1,
    init_cost: float = 1e-3,
    success_threshold: float = 0.99,
    patience: int = 10,
    seed: int = 0,
) -> ReverseEngineered:
    """The smallest-mask trigger for every class of ``model`` on clean inputs ``x``.

    Args:
        model: The classifier under examination (gradients needed).
        x: Clean inputs (``N x C x H x W`` or ``N x D``).
        steps: Optimisation steps (every class advances at each step).
        batch_size: Clean inputs per class and step.
        lr: Adam learning rate on the mask and pattern parameters.
        init_cost: Initial weight of the mask's L1 norm (per pixel).
        success_threshold: Success a trigger needs to count as found.
        patience: Checks (every 5 steps) before the cost is raised or lowered.
        seed: Seed of the batch draws and initialisation.
    """
    import torch

    k = model.spec.n_classes
    lo, hi = model.spec.bounds
    sample = tuple(x.shape[1:])
    mask_shape = (1, *sample[1:]) if len(sample) >= 3 else sample
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    mask_p = (torch.rand((k, *mask_shape), generator=gen) * 0.2 - 3.0).requires_grad_(True)
    pattern_p = (torch.rand((k, *sample), generator=gen) * 2 - 1).requires_grad_(True)
    opt = torch.optim.Adam([mask_p, pattern_p], lr=lr, betas=(0.5, 0.9))
    cost = torch.full((k,), init_cost)
    up = torch.zeros(k)
    down = torch.zeros(k)
    best_l1 = torch.full((k,), float("inf"))
    best_mask = torch.sigmoid(mask_p.detach()).clone()
    best_pattern = (lo + (hi - lo) * torch.sigmoid(pattern_p.detach())).clone()
    classes = torch.arange(k).repeat_interleave(batch_size)
    window_hits = torch.zeros(k)
    window_n = 0
    for step in range(steps):
        if step % 50 == 0:
            progress.note(f"trigger search step {step}/{steps}")
        idx = torch.randint(0, len(xt), (batch_size,), generator=gen)
        xb = xt[idx]
        mask = torch.sigmoid(mask_p)
        pattern = lo + (hi - lo) * torch.sigmoid(pattern_p)
        stamped = (1 - mask[:, None]) * xb[None] + (mask * pattern)[:, None]
        logits = model.logits(stamped.reshape(k * batch_size, *sample))
        ce = torch.nn.functional.cross_entropy(logits, classes, reduction="none")
        ce = ce.view(k, batch_size).mean(1)
        l1 = mask.flatten(1).sum(1)
        loss = (ce + cost * l1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            hits = (logits.argmax(1) == classes).float().view(k, batch_size).mean(1)
            window_hits += hits
            window_n += 1
            better = (hits >= success_threshold) & (l1 < best_l1)
            best_l1 = torch.where(better, l1, best_l1)
            best_mask[better] = mask[better].detach()
            best_pattern[better] = pattern[better].detach()
            if window_n == 5:
                ok = window_hits / window_n >= success_threshold
                up = torch.where(ok, up + 1, torch.zeros(k))
                down = torch.where(ok, torch.zeros(k), down + 1)
                cost = torch.where(up >= patience, cost * 1.5, cost)
                cost = torch.where(down >= patience, cost / 1.5**1.5, cost)
                up = torch.where(up >= patience, torch.zeros(k), up)
                down = torch.where(down >= patience, torch.zeros(k), down)
                window_hits.zero_()
                window_n = 0
    # classes never reaching the threshold keep their last mask (an upper bound on the trigger)
    never = torch.isinf(best_l1)
    with torch.no_grad():
        last_mask = torch.sigmoid(mask_p)
        last_pattern = lo + (hi - lo) * torch.sigmoid(pattern_p)
        best_mask[never] = last_mask[never]
        best_pattern[never] = last_pattern[never]
        best_l1 = best_mask.flatten(1).sum(1)
        success = _success(model, xt, best_mask, best_pattern)
    triggers = tuple(
        Trigger(
            "recovered",
            np.broadcast_to(best_mask[c].numpy(), sample).astype(np.float32).copy(),
            best_pattern[c].numpy().astype(np.float32),
        )
        for c in range(k)
    )
    return ReverseEngineered(triggers, best_l1.numpy().astype(np.float64), success)


def _success(model: Differentiable, x: object, masks: object, patterns: object) -> np.ndarray:
    import torch

    assert isinstance(x, torch.Tensor) and isinstance(masks, torch.Tensor)
    assert isinstance(patterns, torch.Tensor)
    out = np.zeros(len(masks))
    for c in range(len(masks)):
        stamped = (1 - masks[c]) * x + masks[c] * patterns[c]
        pred = model.logits_batched(stamped).argmax(1)
        out[c] = float((pred == c).float().mean())
    return out
