"""DeepFool: iterative linearisation of the classifier toward its nearest decision boundary."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import torch

from aisec.attacks.evasion.base import NORMS, AttackContext, MinimumNormAttack, Perturbation
from aisec.params import Interval, Options, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability

if TYPE_CHECKING:
    from aisec.targets.views import Differentiable


def class_jacobian(
    target: Differentiable, x: torch.Tensor, classes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits at ``x`` and the input gradients of the chosen logits of each sample.

    Args:
        target: A differentiable classifier.
        x: Inputs, shape ``(B, *shape)``.
        classes: Class indices per sample, shape ``(B, m)``.

    Returns:
        ``(logits, jac)``: logits of shape ``(B, K)`` (no gradient) and gradients of shape
        ``(B, m, *shape)`` where ``jac[i, j]`` is the gradient of logit ``classes[i, j]``.
    """
    x = x.detach().requires_grad_(True)
    logits = target.logits(x)
    picked = logits.gather(1, classes)
    grads = []
    m = classes.shape[1]
    # one backward pass per column: cheaper than a batched vmap backward on CPU
    for j in range(m):
        (g,) = torch.autograd.grad(picked[:, j].sum(), x, retain_graph=j < m - 1)
        grads.append(g)
    return logits.detach(), torch.stack(grads, 1)


def dual_norm(w: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-row dual norm of the flattened trailing axes (L-inf <-> L1, L2 <-> L2)."""
    flat = w.reshape(*w.shape[:2], -1) if w.dim() > 2 else w
    if norm == "linf":
        return flat.abs().sum(-1)
    if norm == "l2":
        return flat.norm(dim=-1)
    return flat.abs().amax(-1)


@register
class DeepFool(MinimumNormAttack):
    """DeepFool under L2 or L-inf, batched over samples.

    At each step the classifier is linearised around the current point; among the candidate
    classes (the ``candidates`` highest-scoring classes of the clean input, the true class
    included) the attack steps to the nearest linearised boundary, accumulating the steps and
    applying them to the input scaled by ``1 + overshoot``. A point stops as soon as it is
    misclassified; a point that is still correctly classified after ``steps`` iterations is
    reported as a failure. Targeted runs use the target class as the only candidate.

    Reference: Moosavi-Dezfooli, Fawzi, Frossard. "DeepFool: a simple and accurate method to
    fool deep neural networks", CVPR 2016.
    """

    id = "evasion.deepfool"
    name = "DeepFool"
    requires = frozenset({Capability.GRADIENTS})
    watches_gradients = True
    probes_gradients = True
    references = ("Moosavi-Dezfooli et al., CVPR 2016, arXiv:1511.04599",)
    supported_norms: ClassVar[tuple[str, ...]] = ("l2", "linf")
    parameters = declare(
        norm=Param("l2", Options(NORMS), "Norm of the perturbation: l2 or linf."),
        steps=Param(50, Interval(int, 1, 10_000), "Linearisation steps."),
        overshoot=Param(0.02, Interval(float, 0, 1), "Factor the total step is scaled by."),
        candidates=Param(10, Interval(int, 2, 100_000), "Top classes considered."),
    )

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        target = ctx.model
        p = ctx.params
        bs = target.batch_size
        out = x.clone()
        for s in range(0, len(x), bs):
            yt = None if ctx.y_target is None else ctx.y_target[s : s + bs]
            out[s : s + bs] = deepfool_run(
                target,
                x[s : s + bs],
                y[s : s + bs],
                yt,
                norm=ctx.norm,
                steps=p["steps"],
                overshoot=p["overshoot"],
                candidates=p["candidates"],
            )
        return Perturbation(out)


def deepfool_run(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    y_target: torch.Tensor | None,
    *,
    norm: str,
    steps: int,
    overshoot: float,
    candidates: int,
) -> torch.Tensor:
    """DeepFool on one batch; failed points are returned unchanged."""
    lo, hi = target.spec.bounds
    n = len(x)
    with torch.no_grad():
        clean = target.logits(x)
    k = min(candidates, clean.shape[1])
    if y_target is None:
        # the true class first, then the k - 1 highest-scoring other classes
        others = clean.scatter(1, y[:, None], float("-inf")).topk(k - 1, dim=1).indices
    else:
        others = y_target[:, None]
    cls = torch.cat([y[:, None], others], 1)
    r_tot = torch.zeros_like(x)
    x_adv = x.clone()
    active = torch.arange(n)
    done = torch.zeros(n, dtype=torch.bool)
    view = (-1,) + (1,) * (x.dim() - 1)
    for it in range(steps + 1):
        logits, jac = class_jacobian(target, x_adv[active], cls[active])
        pred = logits.argmax(1)
        hit = pred == y_target[active] if y_target is not None else pred != y[active]
        done[active[hit]] = True
        keep = ~hit
        active, logits, jac = active[keep], logits[keep], jac[keep]
        if not len(active) or it == steps:
            break
        z = logits.gather(1, cls[active])
        f = z[:, 1:] - z[:, :1]  # (B, k-1), negative while the true class wins
        w = jac[:, 1:] - jac[:, :1]
        wn = dual_norm(w, norm).clamp_min(1e-12)
        best = (f.abs() / wn).argmin(1)
        rows = torch.arange(len(active))
        wl, fl, nl = w[rows, best], f[rows, best].abs(), wn[rows, best]
        if norm == "l2":
            step = ((fl + 1e-4) / nl**2).view(view) * wl
        else:
            step = ((fl + 1e-4) / nl).view(view) * wl.sign()
        r_tot[active] += step
        x_adv[active] = (x[active] + (1 + overshoot) * r_tot[active]).clamp(lo, hi)
    return torch.where(done.view(view), x_adv, x)
