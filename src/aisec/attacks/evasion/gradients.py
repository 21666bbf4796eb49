"""Gradient helpers for white-box attacks: losses, norm-aware steps and projections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from aisec.attacks.evasion.losses import Loss, ce_loss

if TYPE_CHECKING:
    from aisec.targets.views import Differentiable


def flat_norm(d: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-sample norm of ``d`` as a column broadcastable to ``d``."""
    flat = d.reshape(len(d), -1)
    if norm == "linf":
        v = flat.abs().amax(1)
    elif norm == "l2":
        v = flat.norm(dim=1)
    else:
        v = flat.abs().sum(1)
    return v.view(-1, *([1] * (d.dim() - 1)))


def loss_and_grad(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    y_target: torch.Tensor | None = None,
    loss_fn: Loss = ce_loss,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits, per-sample loss and its input gradient (ascent direction) in one pass.

    ``loss_fn`` is a loss to increase (:mod:`~aisec.attacks.evasion.losses`); the default is
    the cross-entropy with the true label, or minus the cross-entropy with the target label.
    """
    x = x.detach().requires_grad_(True)
    logits = target.logits(x)
    loss = loss_fn(logits, y, y_target)
    (grad,) = torch.autograd.grad(loss.sum(), x)
    return logits.detach(), loss.detach(), grad


def ascent_step(grad: torch.Tensor, norm: str, size: torch.Tensor | float) -> torch.Tensor:
    """The steepest-ascent step of the given size under ``norm``."""
    if norm == "linf":
        return size * grad.sign()
    if norm == "l2":
        return size * grad / flat_norm(grad, "l2").clamp_min(1e-12)
    # L1: move along the top-k coordinates of |grad| (sparse steepest ascent, k = 1% of dims)
    flat = grad.reshape(len(grad), -1)
    k = max(1, int(0.01 * flat.shape[1]))
    thresh = flat.abs().topk(k, dim=1).values[:, -1:]
    mask = (flat.abs() >= thresh).to(grad.dtype)
    direction = flat.sign() * mask
    direction = direction / direction.abs().sum(1, keepdim=True).clamp_min(1e-12)
    return size * direction.view_as(grad)


def project(delta: torch.Tensor, norm: str, eps: float) -> torch.Tensor:
    """Project perturbations onto the ``norm`` ball of radius ``eps``."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    if norm == "l2":
        n = flat_norm(delta, "l2")
        return delta * torch.clamp(eps / n.clamp_min(1e-12), max=1.0)
    return project_l1(delta, eps)


def project_l1(delta: torch.Tensor, eps: float) -> torch.Tensor:
    """Euclidean projection onto the L1 ball (Duchi et al., 2008), batched."""
    flat = delta.reshape(len(delta), -1)
    inside = flat.abs().sum(1) <= eps
    if bool(inside.all()):
        return delta
    u = flat.abs().sort(dim=1, descending=True).values
    css = u.cumsum(1)
    ks = torch.arange(1, u.shape[1] + 1, device=u.device, dtype=u.dtype)
    cond = u - (css - eps) / ks > 0
    rho = cond.to(torch.int64).cumsum(1).argmax(1)  # last index where cond holds
    theta = (css.gather(1, rho[:, None]) - eps) / (rho[:, None] + 1).to(u.dtype)
    proj = flat.sign() * (flat.abs() - theta).clamp_min(0)
    out = torch.where(inside[:, None], flat, proj)
    return out.view_as(delta)


def random_start(x: torch.Tensor, norm: str, eps: float, gen: torch.Generator) -> torch.Tensor:
    """A uniformly random point in the ``norm`` ball around ``x`` (before clipping to bounds)."""
    if norm == "linf":
        u = torch.rand(x.shape, generator=gen, dtype=x.dtype)
        return x + (2 * u - 1) * eps
    d = x[0].numel()
    if norm == "l2":
        g = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        g = g / flat_norm(g, "l2").clamp_min(1e-12)
        r = torch.rand((len(x),) + (1,) * (x.dim() - 1), generator=gen, dtype=x.dtype) ** (1.0 / d)
        return x + g * r * eps
    # L1: Laplace direction scaled into the ball
    g = _laplace(x.shape, gen, x.dtype)
    g = g / flat_norm(g, "l1").clamp_min(1e-12)
    r = torch.rand((len(x),) + (1,) * (x.dim() - 1), generator=gen, dtype=x.dtype) ** (1.0 / d)
    return x + g * r * eps


def _laplace(shape: torch.Size, gen: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    u = torch.rand(shape, generator=gen, dtype=dtype) - 0.5
    return -u.sign() * torch.log1p(-2 * u.abs().clamp(max=0.4999999))
