"""Projected Gradient Descent with random restarts and per-sample early stopping."""

from __future__ import annotations

import numpy as np
import torch

from aisec import progress
from aisec.attacks.evasion.base import AttackContext, FixedBudgetAttack, Perturbation
from aisec.attacks.evasion.gradients import ascent_step, project, random_start
from aisec.attacks.evasion.health import GradientHealth, saturated_softmax
from aisec.attacks.evasion.losses import ce_loss, dlr_loss, margin, min_classes
from aisec.params import Boolean, Interval, OptionalOf, Options, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability
from aisec.targets.views import Differentiable

LOSS_CHOICES = ("auto", "ce", "dlr")
"""PGD's losses: ``auto`` switches a point from cross-entropy to DLR when its softmax saturates."""


@register
class PGD(FixedBudgetAttack):
    """PGD on the cross-entropy (or a margin) loss under L-inf, L2 or L1 budgets.

    Each restart starts from a uniformly random point in the ball (the first may start at the
    input with ``random_start: false``) and runs ``steps`` projected ascent steps of size
    ``step_size`` (default ``2.5 * eps / steps``, Madry et al.). A point leaves the batch as
    soon as it is misclassified (targeted: classified as the target), and restarts only attack
    the points no earlier restart broke: the work done is proportional to what is still robust.

    ``loss: auto`` (the default) uses the cross-entropy and switches a point to the DLR loss
    (Croce & Hein 2020; the Carlini-Wagner margin below 3 classes, 4 when targeted) as soon as
    its softmax saturates, where the cross-entropy's gradient is exactly zero and PGD would
    stand still. The attack watches its own gradients and reports signs of masking (EVA-002).

    Reference: Madry et al. "Towards Deep Learning Models Resistant to Adversarial Attacks",
    ICLR 2018.
    """

    id = "evasion.pgd"
    name = "PGD"
    requires = frozenset({Capability.GRADIENTS})
    watches_gradients = True
    references = (
        "Madry et al., ICLR 2018, arXiv:1706.06083",
        "Croce & Hein, ICML 2020, arXiv:2003.01690 (DLR loss)",
    )
    parameters = declare(
        loss=Param(
            "auto",
            Options(LOSS_CHOICES),
            "ce, dlr (a margin loss), or auto: ce, switching to dlr where the softmax saturates.",
        ),
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
            progress.count("restart", r + 1, p["restarts"])
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
                loss=p["loss"],
                health=ctx.health,
                positions=idx,
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
    loss: str = "ce",
    health: GradientHealth | None = None,
    positions: torch.Tensor | None = None,
    early_stop: bool = True,
) -> tuple[torch.Tensor, np.ndarray]:
    """One PGD restart over a batch; returns the adversarials and which ones succeeded.

    Success is read from the logits of each gradient pass, so checking it costs no extra
    forward pass; a final forward pass checks the last step. ``health`` (with the points'
    ``positions`` in it) records every gradient pass. With ``early_stop`` False every point
    takes all ``steps`` (adversarial training maximises the loss, not just the error).
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
        use_margin = torch.full((len(xb),), loss == "dlr")
        pos = None
        if health is not None:
            pos = (positions if positions is not None else torch.arange(len(x)))[start : start + bs]
            health.begin_run(pos)
        for _ in range(steps):
            xa, ya = adv[active], yb[active]
            yta = None if ytb is None else ytb[active]
            logits, value, grad, switched = _loss_and_grad(
                target, xa, ya, yta, use_margin[active], auto=loss == "auto"
            )
            if bool(switched.any()):
                use_margin[active[switched]] = True
                if health is not None and pos is not None:
                    health.mark_switched(pos[active[switched]])
                    health.begin_run(pos[active[switched]])
            if health is not None and pos is not None:
                health.observe(pos[active], logits, value, grad, ya, yta)
            pred = logits.argmax(1)
            succ = pred == yta if yta is not None else pred != ya
            if early_stop and bool(succ.any()):
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


def margin_loss(
    logits: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor | None
) -> torch.Tensor:
    """DLR where it is defined (3 classes, 4 targeted), else minus the Carlini-Wagner margin."""
    if logits.shape[1] >= min_classes("dlr", y_target is not None):
        return dlr_loss(logits, y, y_target)
    return -margin(logits, y, y_target)


def _loss_and_grad(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    y_target: torch.Tensor | None,
    use_margin: torch.Tensor,
    *,
    auto: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits, per-point loss, its input gradient, and the points newly switched to the margin.

    With ``auto``, points whose softmax is saturated in this very pass switch at once, so the
    gradient returned is already the margin loss's.
    """
    x = x.detach().requires_grad_(True)
    logits = target.logits(x)
    switched = torch.zeros(len(x), dtype=torch.bool)
    if auto:
        switched = saturated_softmax(logits.detach()).cpu() & ~use_margin
        use_margin = use_margin | switched
    if bool(use_margin.any()):
        mask = use_margin.to(logits.device)
        value = torch.where(mask, margin_loss(logits, y, y_target), ce_loss(logits, y, y_target))
    else:
        value = ce_loss(logits, y, y_target)
    (grad,) = torch.autograd.grad(value.sum(), x)
    return logits.detach(), value.detach(), grad, switched
