"""Auto-PGD (APGD): step-size-free PGD with momentum, checkpoints and restarts from the best point.

Reference: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
diverse parameter-free attacks", ICML 2020 (arXiv:2003.01690), Algorithm 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from aisec import progress
from aisec.attacks.evasion.base import AttackContext, FixedBudgetAttack, Perturbation
from aisec.attacks.evasion.gradients import flat_norm, loss_and_grad
from aisec.attacks.evasion.health import GradientHealth
from aisec.attacks.evasion.losses import LOSSES, Loss, min_classes
from aisec.params import Interval, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability
from aisec.targets.views import Differentiable, classifier

if TYPE_CHECKING:
    from aisec.targets.base import Target

ALPHA = 0.75
"""Momentum weight of the paper."""
RHO = 0.75
"""Fraction of improving steps below which the step size is halved (condition 1)."""


def checkpoints(steps: int) -> list[int]:
    """Iterations at which APGD reconsiders its step size.

    The paper's checkpoints are ``w_j = ceil(p_j * steps)`` with ``p_0 = 0``, ``p_1 = 0.22`` and
    ``p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)``: the intervals shrink by 3% of the budget
    from 22% down to a floor of 6%. Integer intervals are rounded down as in the authors' code
    (``max(int(0.22 N), 1)``, shrinking by ``max(int(0.03 N), 1)`` to ``max(int(0.06 N), 1)``).
    """
    out: list[int] = []
    interval = max(int(0.22 * steps), 1)
    shrink = max(int(0.03 * steps), 1)
    floor = max(int(0.06 * steps), 1)
    w = 0
    while w + interval <= steps:
        w += interval
        out.append(w)
        interval = max(interval - shrink, floor)
    return out


def _project(
    x0: torch.Tensor, x: torch.Tensor, norm: str, eps: float, lo: float, hi: float
) -> torch.Tensor:
    """Project ``x`` onto the intersection of the ``norm`` ball around ``x0`` and the box."""
    if norm == "linf":
        return torch.minimum(torch.maximum(x, x0 - eps), x0 + eps).clamp(lo, hi)
    d = x - x0
    n = flat_norm(d, "l2")
    d = d * torch.clamp(eps / n.clamp_min(1e-12), max=1.0)
    return (x0 + d).clamp(lo, hi)


def _direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    if norm == "linf":
        return grad.sign()
    return grad / flat_norm(grad, "l2").clamp_min(1e-12)


def _random_init(x0: torch.Tensor, norm: str, eps: float, gen: torch.Generator) -> torch.Tensor:
    """Start on the sphere of radius ``eps`` in a random direction, as in the authors' code."""
    if norm == "linf":
        t = 2 * torch.rand(x0.shape, generator=gen, dtype=x0.dtype) - 1
        return x0 + eps * t / flat_norm(t, "linf").clamp_min(1e-12)
    t = torch.randn(x0.shape, generator=gen, dtype=x0.dtype)
    return x0 + eps * t / flat_norm(t, "l2").clamp_min(1e-12)


def _succeeded(logits: torch.Tensor, y: torch.Tensor, ys: torch.Tensor | None) -> torch.Tensor:
    pred = logits.argmax(1)
    return pred == ys if ys is not None else pred != y


def apgd_run(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float,
    norm: str,
    steps: int,
    loss_fn: Loss,
    gen: torch.Generator,
    loss_target: torch.Tensor | None = None,
    success_target: torch.Tensor | None = None,
    random_init: bool = True,
    health: GradientHealth | None = None,
    positions: torch.Tensor | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    """One APGD run (Algorithm 1) over a batch; returns the final points and which succeeded.

    ``loss_target`` feeds targeted losses; ``success_target`` says what success means (None:
    any misclassification). APGD-T in AutoAttack uses a targeted loss with untargeted success.
    Each point keeps its own step size and counters and leaves the batch as soon as it
    succeeds; success is read from the logits of the gradient pass, so it costs no extra pass.
    ``health`` (with the points' ``positions`` in it) records every gradient pass.
    """
    bs = target.batch_size
    out = x.clone()
    hit = np.zeros(len(x), dtype=bool)
    where = positions if positions is not None else torch.arange(len(x))
    for s in range(0, len(x), bs):
        sl = slice(s, s + bs)
        if health is not None:
            health.begin_run(where[sl])
        o, h = _apgd_chunk(
            target,
            x[sl],
            y[sl],
            None if loss_target is None else loss_target[sl],
            None if success_target is None else success_target[sl],
            eps=eps,
            norm=norm,
            steps=steps,
            loss_fn=loss_fn,
            gen=gen,
            random_init=random_init,
            watch=None if health is None else (health, where[sl]),
        )
        out[sl], hit[sl] = o, h
    return out, hit


def _apgd_chunk(
    target: Differentiable,
    x0: torch.Tensor,
    y: torch.Tensor,
    yl: torch.Tensor | None,
    ys: torch.Tensor | None,
    *,
    eps: float,
    norm: str,
    steps: int,
    loss_fn: Loss,
    gen: torch.Generator,
    random_init: bool,
    watch: tuple[GradientHealth, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, np.ndarray]:
    lo, hi = target.spec.bounds
    n = len(x0)
    out = x0.clone()
    done = torch.zeros(n, dtype=torch.bool)
    idx = torch.arange(n)
    x = _random_init(x0, norm, eps, gen).clamp(lo, hi) if random_init else x0.clone()
    logits, loss, grad = loss_and_grad(target, x, y, yl, loss_fn)
    if watch is not None:
        watch[0].observe(watch[1], logits, loss, grad, y, ys)

    # per-point state, compacted whenever points succeed
    state: dict[str, Any] = {
        "idx": idx,
        "x0": x0,
        "y": y,
        "yl": yl,
        "ys": ys,
        "x": x,
        "x_prev": x.clone(),
        "loss": loss,
        "grad": grad,
        "x_best": x.clone(),
        "loss_best": loss.clone(),
        "grad_best": grad.clone(),
        "step": torch.full((n,), 2.0 * eps, dtype=x0.dtype),
        "best_at_check": loss.clone(),
        "reduced": torch.zeros(n, dtype=torch.bool),
        "n_incr": torch.zeros(n, dtype=torch.int64),
    }

    def retire(succ: torch.Tensor) -> bool:
        """Record successful points and drop them; True when none is left."""
        nonlocal state
        if not bool(succ.any()):
            return False
        out[state["idx"][succ]] = state["x"][succ]
        done[state["idx"][succ]] = True
        keep = ~succ
        state = {k: (v[keep] if isinstance(v, torch.Tensor) else v) for k, v in state.items()}
        return not bool(keep.any())

    if retire(_succeeded(logits, y, ys)):
        return out, done.numpy()
    checks = checkpoints(steps)
    last_check = 0
    shape = (-1,) + (1,) * (x0.dim() - 1)
    for i in range(steps):
        st = state
        a = ALPHA if i > 0 else 1.0
        step = st["step"].view(shape)
        z = _project(st["x0"], st["x"] + step * _direction(st["grad"], norm), norm, eps, lo, hi)
        x_new = st["x"] + a * (z - st["x"]) + (1 - a) * (st["x"] - st["x_prev"])
        x_new = _project(st["x0"], x_new, norm, eps, lo, hi)
        st["x_prev"] = st["x"]
        st["x"] = x_new
        logits, loss, grad = loss_and_grad(target, x_new, st["y"], st["yl"], loss_fn)
        if watch is not None:
            watch[0].observe(watch[1][st["idx"]], logits, loss, grad, st["y"], st["ys"])
        st["n_incr"] += (loss > st["loss"]).to(torch.int64)
        st["loss"], st["grad"] = loss, grad
        better = loss > st["loss_best"]
        if bool(better.any()):
            st["x_best"][better] = x_new[better]
            st["grad_best"][better] = grad[better]
            st["loss_best"] = torch.where(better, loss, st["loss_best"])
        if retire(_succeeded(logits, st["y"], st["ys"])):
            return out, done.numpy()
        st = state
        if i + 1 in checks:
            interval = i + 1 - last_check
            last_check = i + 1
            oscillating = st["n_incr"].to(x0.dtype) <= RHO * interval
            stalled = ~st["reduced"] & (st["best_at_check"] >= st["loss_best"])
            halve = oscillating | stalled
            st["reduced"] = halve
            st["best_at_check"] = st["loss_best"].clone()
            st["n_incr"] = torch.zeros_like(st["n_incr"])
            if bool(halve.any()):
                st["step"] = torch.where(halve, st["step"] / 2, st["step"])
                st["x"] = torch.where(halve.view(shape), st["x_best"], st["x"])
                st["grad"] = torch.where(halve.view(shape), st["grad_best"], st["grad"])
    # survivors: return their highest-loss point (a valid, unsuccessful perturbation)
    out[state["idx"]] = state["x_best"]
    return out, done.numpy()


# ----------------------------------------------------------------------------------------------
class _APGDBase(FixedBudgetAttack):
    """Shared driver of APGD-CE, APGD-DLR and APGD-T."""

    loss_name: ClassVar[str] = "ce"
    requires = frozenset({Capability.GRADIENTS})
    watches_gradients = True
    supported_norms: ClassVar[tuple[str, ...]] = ("linf", "l2")
    references = (
        "Croce & Hein, ICML 2020, arXiv:2003.01690 (APGD, DLR loss, APGD-T)",
        "Madry et al., ICLR 2018, arXiv:1706.06083 (PGD)",
    )
    parameters = declare(
        steps=Param(100, Interval(int, 1, 100_000), "Iterations per run."),
        restarts=Param(1, Interval(int, 1, 1000), "Runs per point (per target class)."),
        n_target_classes=Param(
            0, Interval(int, 0, 1000), "APGD-T: top other classes attacked (0: untargeted loss)."
        ),
    )

    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """Also check the loss is defined for the target's number of classes."""
        problems = super().check(target, data, params)
        targeted_loss = bool(params.get("targeted")) or params["n_target_classes"] > 0
        need = min_classes(self.loss_name, targeted_loss)
        n_classes = classifier(target, self.id).spec.n_classes
        if n_classes < need:
            problems.append(
                f"the {self.loss_name.upper()} loss needs at least {need} classes; target "
                f"{target.name!r} has {n_classes}. Use evasion.apgd-ce instead"
            )
        return problems

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        p = ctx.params
        assert ctx.eps is not None
        loss_fn = LOSSES[self.loss_name]
        best = x.clone()
        alive = torch.ones(len(x), dtype=torch.bool)
        runs: list[tuple[torch.Tensor | None, torch.Tensor | None]] = []
        if ctx.y_target is not None:  # targeted attack: targeted loss, success = the target
            runs = [(ctx.y_target, ctx.y_target)] * p["restarts"]
        elif p["n_target_classes"] > 0:  # APGD-T: targeted loss on the top classes, any error wins
            with torch.no_grad():
                order = ctx.model.logits_batched(x).argsort(1, descending=True)
            k_max = min(p["n_target_classes"], order.shape[1] - 1)
            for k in range(1, k_max + 1):
                runs += [(order[:, k], None)] * p["restarts"]
        else:
            runs = [(None, None)] * p["restarts"]
        for k, (loss_target, success_target) in enumerate(runs):
            progress.count("run", k + 1, len(runs))
            idx = alive.nonzero().flatten()
            if not len(idx):
                break
            adv, hit = apgd_run(
                ctx.model,
                x[idx],
                y[idx],
                eps=ctx.eps,
                norm=ctx.norm,
                steps=p["steps"],
                loss_fn=loss_fn,
                gen=ctx.generator,
                loss_target=None if loss_target is None else loss_target[idx],
                success_target=None if success_target is None else success_target[idx],
                health=ctx.health,
                positions=idx,
            )
            # successful points keep their adversarial; the others their highest-loss point
            best[idx] = adv
            alive[idx[torch.as_tensor(hit)]] = False
        return Perturbation(best, runs=len(runs) if len(runs) > 1 else None)


@register
class APGDCE(_APGDBase):
    """APGD on the cross-entropy loss (targeted: minus the cross-entropy with the target).

    ``restarts`` random restarts from the sphere of radius ``eps`` attack only the points no
    earlier restart broke. With ``n_target_classes > 0`` (untargeted), runs one targeted
    attack per top class instead, as APGD-T does.

    Reference: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
    diverse parameter-free attacks", ICML 2020.
    """

    id = "evasion.apgd-ce"
    name = "APGD-CE"
    loss_name = "ce"


@register
class APGDDLR(_APGDBase):
    """APGD on the Difference of Logits Ratio loss, robust to logit rescaling.

    Targeted (``targeted: true``): the targeted DLR loss toward the chosen target class.
    Untargeted with ``n_target_classes = k > 0``: APGD-T, i.e. one run with the targeted DLR
    loss toward each of the ``k`` most likely wrong classes, success being any misclassification.

    Reference: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
    diverse parameter-free attacks", ICML 2020.
    """

    id = "evasion.apgd-dlr"
    name = "APGD-DLR"
    loss_name = "dlr"


@register
class APGDT(_APGDBase):
    """APGD-T: the targeted DLR loss toward each of the top ``n_target_classes`` (default 9).

    The AutoAttack configuration: untargeted success (any misclassification), reached through
    targeted runs toward the most likely wrong classes.

    Reference: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
    diverse parameter-free attacks", ICML 2020.
    """

    id = "evasion.apgd-t"
    name = "APGD-T"
    loss_name = "dlr"
    parameters = declare(
        n_target_classes=Param(
            9, Interval(int, 0, 1000), "Top other classes attacked, one targeted run each."
        ),
    )
