"""Fast Gradient Sign Method (single step)."""

from __future__ import annotations

from typing import ClassVar

import torch

from aisec.attacks.evasion.base import AttackContext, FixedBudgetAttack, Perturbation
from aisec.attacks.evasion.gradients import ascent_step, loss_and_grad
from aisec.registry import register
from aisec.targets.base import Capability


@register
class FGSM(FixedBudgetAttack):
    """One signed-gradient step of size ``eps`` (L-inf) or a normalised step (L2).

    Reference: Goodfellow, Shlens, Szegedy. "Explaining and Harnessing Adversarial Examples",
    ICLR 2015. Weak on purpose: a baseline, and a sanity check that PGD is stronger.
    """

    id = "evasion.fgsm"
    name = "FGSM"
    requires = frozenset({Capability.GRADIENTS})
    watches_gradients = True
    references = ("Goodfellow et al., ICLR 2015, arXiv:1412.6572",)
    supported_norms: ClassVar[tuple[str, ...]] = ("linf", "l2")

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        target = ctx.model
        assert ctx.eps is not None
        lo, hi = target.spec.bounds
        bs = target.batch_size
        out = []
        for i in range(0, len(x), bs):
            xb, yb = x[i : i + bs], y[i : i + bs]
            yt = None if ctx.y_target is None else ctx.y_target[i : i + bs]
            logits, loss, grad = loss_and_grad(target, xb, yb, yt)
            if ctx.health is not None:
                ctx.health.observe(torch.arange(i, i + len(xb)), logits, loss, grad, yb, yt)
            out.append((xb + ascent_step(grad, ctx.norm, ctx.eps)).clamp(lo, hi))
        return Perturbation(torch.cat(out))
