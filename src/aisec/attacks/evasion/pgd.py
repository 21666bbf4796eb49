"""Projected Gradient Descent with random restarts and per-sample early stopping."""

from __future__ import annotations

import numpy as np
import torch

from aisec.attacks.evasion.base import AttackContext, FixedBudgetAttack, Perturbation
from aisec.attacks.evasion.gradients import ascent_step, loss_and_grad, project, random_start
from aisec.params import Boolean, Interval, OptionalOf, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability
from aisec.targets.views import Differentiable


@register
class PGD(FixedBudgetAttack):
    """PGD on the cross-entropy loss under L-inf, L2 or L1 budgets.

    Each restart starts from a uniformly random point in the ball (the first may start at the
    input with ``random_start: false``) and runs ``steps`` projected ascent steps of size
    ``step_size`` (default ``2.5 * eps / steps``, Madry et al.). A point leaves the batch as
    soon as it is misclassified (targeted: classified as the target), and restarts only attack
    the points no earlier restart broke: the work done is proportional to what is still robust.

    Reference: Madry et al. "Towards Deep Learning Models Resistant to Adversarial Attacks",
    ICLR 2018.
    """

    id = "evasion.pgd"
    name = "PGD"
    requires = frozenset({Capability.GRADIENTS})
    references = ("Madry et al., ICLR 2018, arXiv:1706.06083",)
    parameters = declare(
        steps=Param(40, Interval(int, 1, 100_000), "Gradient steps per restart."),
        restarts=Param(1, Interval(int, 1, 1000), "Random restarts on the points still robust."),
        step_size=Param(
            None,
            OptionalOf(Interval(float, 0, None, closed="neither")),
            "Step size (default 2.5 * eps / steps).",
        ),
        random_start=Param(True, Boolean(), "Start the first restart at a random point."),
    )

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        p = ctx.params
        assert ctx.eps is not None
        best = x.clone()
        alive = torch.ones(len(x), dtype=torch.bool)
        for r in range(p["restarts"]):
            idx = alive.nonzero().flatten()
            if not len(idx):
                break
            yt = None if ctx.y_target is None else ctx.y_target[idx]
            adv, hit = pgd_run(
                ctx.model,
                x[idx],
                y[idx],
                yt,
                eps=ctx.eps,
                norm=ctx.norm,
                steps=p["steps"],
                step_size=p["step_size"] or 2.5 * ctx.eps / p["steps"],
                random_init=p["random_start"] or r > 0,
                gen=ctx.generator,
            )
            best[idx] = adv
            alive[idx[hit]] = False
        return Perturbation(best)


def pgd_run(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    y_target: torch.Tensor | None,
    *,
    eps: float,
    norm: str,
    steps: int,
    step_size: float,
    random_init: bool,
    gen: torch.Generator,
) -> tuple[torch.Tensor, np.ndarray]:
    """One PGD restart over a batch; returns the adversarials and which ones succeeded.

    Success is read from the logits of each gradient pass, so checking it costs no extra
    forward pass; a final forward pass checks the last step.
    """
    lo, hi = target.spec.bounds
    bs = target.batch_size
    out = x.clone()
    hit_all = np.zeros(len(x), dtype=bool)
    for start in range(0, len(x), bs):
        xb, yb = x[start : start + bs], y[start : start + bs]
        ytb = None if y_target is None else y_target[start : start + bs]
        adv = random_start(xb, norm, eps, gen).clamp(lo, hi) if random_init else xb.clone()
        active = torch.arange(len(xb))
        done = torch.zeros(len(xb), dtype=torch.bool)
        for _ in range(steps):
            xa, ya = adv[active], yb[active]
            yta = None if ytb is None else ytb[active]
            logits, _, grad = loss_and_grad(target, xa, ya, yta)
            pred = logits.argmax(1)
            succ = pred == yta if yta is not None else pred != ya
            if bool(succ.any()):
                done[active[succ]] = True
                keep = ~succ
                active, xa, grad = active[keep], xa[keep], grad[keep]
                if not len(active):
                    break
            step = ascent_step(grad, norm, step_size)
            delta = project(xa + step - xb[active], norm, eps)
            adv[active] = (xb[active] + delta).clamp(lo, hi)
        if len(active) and not bool(done.all()):
            with torch.no_grad():
                pred = target.logits(adv[active]).argmax(1)
            ref = ytb[active] if ytb is not None else yb[active]
            succ = pred == ref if ytb is not None else pred != ref
            done[active[succ]] = True
        out[start : start + bs] = adv
        hit_all[start : start + bs] = done.numpy()
    return out, hit_all
