"""Per-sample attack losses on logits: cross-entropy, DLR (untargeted and targeted), margin.

Every loss is written so that the attacker *increases* it. References: Croce & Hein, "Reliable
evaluation of adversarial robustness with an ensemble of diverse parameter-free attacks",
ICML 2020 (DLR, eq. 6 and its targeted form); Carlini & Wagner, S&P 2017 (margin).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Loss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]
"""``loss(logits, y, y_target) -> per-sample loss`` to maximise (``y_target`` None: untargeted)."""


def ce_loss(
    logits: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy with the true label, or minus the cross-entropy with the target label."""
    if y_target is None:
        return F.cross_entropy(logits, y, reduction="none")
    return -F.cross_entropy(logits, y_target, reduction="none")


def dlr_loss(
    logits: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor | None = None
) -> torch.Tensor:
    """Difference of Logits Ratio, invariant to shifts and rescaling of the logits.

    Untargeted: ``-(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3)`` (needs 3 classes).
    Targeted: ``-(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)`` (needs 4 classes), where
    ``z_pi1 >= z_pi2 >= ...`` are the sorted logits.
    """
    z = logits
    srt, order = z.sort(dim=1, descending=True)
    z_y = z.gather(1, y[:, None]).squeeze(1)
    if y_target is None:
        is_top = order[:, 0] == y
        z_other = torch.where(is_top, srt[:, 1], srt[:, 0])
        return -(z_y - z_other) / (srt[:, 0] - srt[:, 2] + 1e-12)
    z_t = z.gather(1, y_target[:, None]).squeeze(1)
    return -(z_y - z_t) / (srt[:, 0] - 0.5 * (srt[:, 2] + srt[:, 3]) + 1e-12)


def margin(
    scores: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor | None = None
) -> torch.Tensor:
    """Margin to minimise: negative exactly when the attack succeeds.

    Untargeted: ``s_y - max_{i != y} s_i``; targeted: ``max_{i != t} s_i - s_t``.
    """
    ref = y if y_target is None else y_target
    s_ref = scores.gather(1, ref[:, None]).squeeze(1)
    other = scores.scatter(1, ref[:, None], float("-inf")).amax(1)
    return s_ref - other if y_target is None else other - s_ref


LOSSES: dict[str, Loss] = {"ce": ce_loss, "dlr": dlr_loss}
"""Losses a gradient attack can be configured with, by name."""


def min_classes(loss: str, targeted: bool) -> int:
    """The fewest classes ``loss`` is defined for (DLR needs the third/fourth largest logit)."""
    if loss == "dlr":
        return 4 if targeted else 3
    return 2
