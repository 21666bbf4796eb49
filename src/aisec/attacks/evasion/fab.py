"""FAB: the Fast Adaptive Boundary attack (minimum-norm, L-inf, L2 and L1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from aisec import progress
from aisec.attacks.evasion.base import AttackContext, MinimumNormAttack, Perturbation
from aisec.attacks.evasion.deepfool import class_jacobian, dual_norm
from aisec.attacks.evasion.gradients import flat_norm
from aisec.params import Interval, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability

if TYPE_CHECKING:
    from aisec.targets.views import Differentiable

# Radius of the random restarts when no budget is given, as a fraction of the input range.
RESTART_RADIUS = {"linf": 0.3, "l2": 1.0, "l1": 5.0}


def project_hyperplane_box(
    t: torch.Tensor, w: torch.Tensor, b: torch.Tensor, lo: float, hi: float, norm: str
) -> torch.Tensor:
    """Smallest ``d`` (in ``norm``) with ``w . (t + d) = b`` and ``lo <= t + d <= hi``, per row.

    The problem is solved exactly by sorting breakpoints: for L2 and L-inf the optimum has the
    form ``d_i = s_i * min(lam * a_i, cap_i)`` (``a_i = |w_i|`` for L2, ``1`` for L-inf, ``cap_i``
    the room to the box in the helpful direction), and ``w . d`` is piecewise linear and
    non-decreasing in ``lam``; for L1 the optimum fills the coordinates with the largest
    ``|w_i|`` first. When the hyperplane cannot be reached inside the box, the box corner that
    comes closest is returned.

    Args:
        t: Points, shape ``(B, D)``.
        w: Hyperplane normals, shape ``(B, D)``.
        b: Offsets, shape ``(B,)``.
        lo: Lower input bound.
        hi: Upper input bound.
        norm: ``linf``, ``l2`` or ``l1``.
    """
    dtype = t.dtype
    t, w, b = t.double(), w.double(), b.double()
    g = b - (w * t).sum(1)
    sgn = torch.where(g < 0, -1.0, 1.0).to(t.dtype)
    g = g.abs()
    ws = w * sgn[:, None]  # now w_s . d must equal g >= 0
    aw = ws.abs()
    dirn = ws.sign()
    cap = torch.where(ws > 0, hi - t, t - lo).clamp_min(0) * (ws != 0)
    gain = aw * cap  # what each coordinate contributes once saturated
    total = gain.sum(1)
    infeasible = g >= total
    if norm == "l1":
        order = aw.argsort(1, descending=True)
        cg = gain.gather(1, order).cumsum(1)
        m = (cg < g[:, None]).sum(1).clamp(max=t.shape[1] - 1)
        prev = torch.where(m > 0, cg.gather(1, (m - 1).clamp_min(0)[:, None])[:, 0], 0.0)
        idx = order.gather(1, m[:, None])[:, 0]
        rows = torch.arange(len(t))
        part = (g - prev) / aw[rows, idx].clamp_min(1e-30)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(t.shape[1]).expand_as(order))
        mag = torch.where(rank < m[:, None], cap, torch.zeros_like(cap))
        mag[rows, idx] = torch.minimum(part, cap[rows, idx])
    else:
        a = aw if norm == "l2" else (ws != 0).to(t.dtype)
        big = torch.finfo(t.dtype).max / 4
        bp = torch.where(a > 0, cap / a.clamp_min(1e-300), torch.full_like(cap, big))
        order = bp.argsort(1)
        bps = bp.gather(1, order)
        cg = gain.gather(1, order).cumsum(1)
        slope = (aw * a).gather(1, order)
        rest = slope.sum(1, keepdim=True) - slope.cumsum(1)  # slope left after saturating 0..k
        phi = cg + torch.where(rest > 0, bps * rest, torch.zeros_like(rest))
        m = (phi < g[:, None]).sum(1)
        mm = (m - 1).clamp_min(0)[:, None]
        c_prev = torch.where(m > 0, cg.gather(1, mm)[:, 0], 0.0)
        s_prev = torch.where(m > 0, rest.gather(1, mm)[:, 0], slope.sum(1))
        lam = (g - c_prev) / s_prev.clamp_min(1e-300)
        mag = torch.minimum(lam[:, None] * a, cap)
    mag = torch.where(infeasible[:, None], cap, mag)
    return (dirn * mag).to(dtype)


@register
class FAB(MinimumNormAttack):
    """FAB minimum-norm attack (L-inf, L2, L1), untargeted, targeted, or FAB-T.

    Each step linearises the classifier at the current iterate, picks the closest linearised
    boundary (untargeted) or the target's boundary, projects both the iterate and the original
    input onto it inside the box, and moves to a convex combination of the two projections
    (weight of the original ``alpha <= alpha_max``) with overshoot ``eta``. When the iterate is
    adversarial it is recorded if it is the smallest so far and pulled back toward the input by
    ``beta``. Restarts after the first start from a random point around the input.

    ``targeted: true`` with an explicit target (``target_class`` or the base's random targets)
    must reach that class; each step then uses the farthest linearised boundary the target
    class still has to cross. Without explicit targets (the evaluation ensemble calls it so), the
    attack runs as FAB-T: once per target among the ``n_target_classes`` highest-scoring
    other classes of the clean input, and a point counts as broken once it is misclassified.
    When a budget ``eps`` is given, a point stops being attacked as soon as an adversarial
    within ``eps`` is found, so its reported perturbation is then not the minimal one.

    Reference: Croce, Hein. "Minimally distorted adversarial examples with a fast adaptive
    boundary attack", ICML 2020; FAB-T as in Croce, Hein. "Reliable evaluation of adversarial
    robustness with an ensemble of diverse parameter-free attacks", ICML 2020.
    """

    id = "evasion.fab"
    name = "FAB"
    requires = frozenset({Capability.GRADIENTS})
    watches_gradients = True
    probes_gradients = True
    references = (
        "Croce & Hein, ICML 2020, arXiv:1907.02044",
        "Croce & Hein, ICML 2020, arXiv:2003.01690",
    )
    parameters = declare(
        steps=Param(100, Interval(int, 1, 100_000), "Steps per restart."),
        restarts=Param(1, Interval(int, 1, 1000), "Restarts (after the first, random starts)."),
        n_target_classes=Param(
            9, Interval(int, 1, 100_000), "FAB-T: top other classes attacked, one run each."
        ),
        alpha_max=Param(0.1, Interval(float, 0, 1), "Largest weight of the original input."),
        eta=Param(1.05, Interval(float, 1, None), "Overshoot of each step."),
        beta=Param(
            0.9, Interval(float, 0, 1, closed="neither"), "Pull-back toward the input on success."
        ),
    )

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        p = ctx.params
        target = ctx.model
        n_classes = target.spec.n_classes
        best = x.clone()
        best_norm = torch.full((len(x),), float("inf"), dtype=torch.float64)
        if ctx.y_target is not None:
            goals: list[torch.Tensor | None] = [ctx.y_target]
            reach = True
        elif p.get("targeted"):
            with torch.no_grad():
                ranked = target.logits_batched(x).argsort(1, descending=True)
            n_t = min(int(p["n_target_classes"]), n_classes - 1)
            goals = [ranked[:, r] for r in range(1, n_t + 1)]
            reach = False
        else:
            goals, reach = [None], False
        total = len(goals) * int(p["restarts"])
        for g, goal in enumerate(goals):
            for r in range(int(p["restarts"])):
                progress.count("run", g * int(p["restarts"]) + r + 1, total)
                todo = torch.ones(len(x), dtype=torch.bool)
                if ctx.eps is not None:
                    todo = best_norm > ctx.eps
                idx = todo.nonzero().flatten()
                if not len(idx):
                    break
                adv, nrm = self._batched(x, y, goal, reach, idx, r, best_norm, p, ctx)
                hit = torch.isfinite(nrm)
                if bool(hit.any()) and ctx.eps is None:  # within a budget, any point will do
                    j = idx[hit]
                    aim = goal[j] if reach and goal is not None else None
                    adv[hit] = shrink_to_boundary(target, x[j], adv[hit], y[j], aim)
                    nrm[hit] = flat_norm(adv[hit] - x[j], ctx.norm).view(-1).double()
                better = nrm < best_norm[idx]
                best[idx[better]] = adv[better]
                best_norm[idx[better]] = nrm[better]
        return Perturbation(best)

    def _batched(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        goal: torch.Tensor | None,
        reach: bool,
        idx: torch.Tensor,
        restart: int,
        best_norm: torch.Tensor,
        p: dict[str, Any],
        ctx: AttackContext,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        target = ctx.model
        bs = target.batch_size
        advs, norms = [], []
        for s in range(0, len(idx), bs):
            i = idx[s : s + bs]
            start = None
            if restart > 0:
                start = self._random_start(x[i], best_norm[i], ctx)
            adv, nrm = fab_run(
                target,
                x[i],
                y[i],
                None if goal is None else goal[i],
                reach_goal=reach,
                start=start,
                norm=ctx.norm,
                steps=int(p["steps"]),
                alpha_max=float(p["alpha_max"]),
                eta=float(p["eta"]),
                beta=float(p["beta"]),
                eps_stop=ctx.eps,
            )
            advs.append(adv)
            norms.append(nrm)
        return torch.cat(advs), torch.cat(norms)

    @staticmethod
    def _random_start(x: torch.Tensor, best_norm: torch.Tensor, ctx: AttackContext) -> torch.Tensor:
        """A random point at half the radius min(best norm so far, eps) around ``x``."""
        lo, hi = ctx.target.spec.bounds
        radius = ctx.eps if ctx.eps is not None else RESTART_RADIUS[ctx.norm] * (hi - lo)
        radius_t = torch.clamp(best_norm, max=radius).to(x.dtype)
        view = (-1,) + (1,) * (x.dim() - 1)
        if ctx.norm == "linf":
            u = 2 * torch.rand(x.shape, generator=ctx.generator, dtype=x.dtype) - 1
        else:
            u = torch.randn(x.shape, generator=ctx.generator, dtype=x.dtype)
        u = u / flat_norm(u, ctx.norm).clamp_min(1e-12)
        return (x + 0.5 * radius_t.view(view) * u).clamp(lo, hi)


SHRINK_STEPS = 12
"""Bisection steps of the final line search (the segment is cut to 2**-12 of its length)."""


def shrink_to_boundary(
    target: Differentiable,
    x: torch.Tensor,
    adv: torch.Tensor,
    y: torch.Tensor,
    goal: torch.Tensor | None,
) -> torch.Tensor:
    """The point closest to ``x`` on the segment ``x -> adv`` that is still adversarial.

    FAB's iterates approach the boundary from both sides with overshoot, so the best one lies
    slightly beyond it; a bisection along the segment (which stays in the box) brings it to the
    boundary. Success is ``goal`` reached, or any class but ``y`` when ``goal`` is None.
    """
    lo_t = torch.zeros(len(x), dtype=x.dtype)
    hi_t = torch.ones(len(x), dtype=x.dtype)
    view = (-1,) + (1,) * (x.dim() - 1)
    d = adv - x
    for _ in range(SHRINK_STEPS):
        mid = (lo_t + hi_t) / 2
        pred = target.logits_batched(x + mid.view(view) * d).argmax(1)
        ok = pred == goal if goal is not None else pred != y
        hi_t = torch.where(ok, mid, hi_t)
        lo_t = torch.where(ok, lo_t, mid)
    return x + hi_t.view(view) * d


def fab_run(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    goal: torch.Tensor | None,
    *,
    reach_goal: bool,
    start: torch.Tensor | None,
    norm: str,
    steps: int,
    alpha_max: float,
    eta: float,
    beta: float,
    eps_stop: float | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One FAB run over a batch.

    Args:
        target: A differentiable classifier.
        x: Clean inputs.
        y: True labels.
        goal: Class whose boundary to cross (targeted and FAB-T), or None for the closest.
        reach_goal: Success means predicted as ``goal`` (otherwise: anything but ``y``).
        start: Starting iterate (random restarts), or None to start at ``x``.
        norm: ``linf``, ``l2`` or ``l1``.
        steps: Iterations.
        alpha_max: Largest weight of the projection of the original input.
        eta: Overshoot of the projections.
        beta: Backward step toward the input after an adversarial is found.
        eps_stop: Stop a point once it has an adversarial within this norm.

    Returns:
        The smallest adversarial found per point (the input where none was found) and its norm
        (``inf`` where none was found).
    """
    lo, hi = target.spec.bounds
    n = len(x)
    x0 = x.reshape(n, -1)
    x1 = (x.clone() if start is None else start.clone()).reshape(n, -1)
    best = x.clone()
    best_norm = torch.full((n,), float("inf"), dtype=torch.float64)
    active = torch.arange(n)
    n_classes = target.spec.n_classes
    all_classes = torch.arange(n_classes).expand(n, n_classes)
    for _ in range(steps):
        if not len(active):
            break
        xa, ya = x1[active].view(len(active), *x.shape[1:]), y[active]
        if goal is None or reach_goal:
            logits, jac = class_jacobian(target, xa, all_classes[active])
            jac = jac.reshape(len(active), n_classes, -1)
            rows = torch.arange(len(active))
            ref = ya if goal is None else goal[active]
            df = logits - logits[rows, ref][:, None]
            dg = jac - jac[rows, ref][:, None]
            dist = df.abs() / (dual_norm(dg, norm) + 1e-12)
            if goal is None:  # the closest boundary of another class
                dist[rows, ref] = float("inf")
                pick = dist.argmin(1)
            else:  # the target must beat every class: the farthest violated constraint
                dist = torch.where(df > 0, dist, torch.zeros_like(dist))
                dist[rows, ref] = -1.0
                pick = dist.argmax(1)
            f, w = df[rows, pick], dg[rows, pick]
        else:  # FAB-T: the boundary between the true class and the chosen target
            # one backward pass, of the difference itself (not one per logit)
            pair = torch.stack([ya, goal[active]], 1)
            xg = xa.detach().requires_grad_(True)
            z = target.logits(xg).gather(1, pair)
            diff = z[:, 1] - z[:, 0]
            (w,) = torch.autograd.grad(diff.sum(), xg)
            f, w = diff.detach(), w.reshape(len(active), -1)
        xc = x1[active]
        b = (w * xc).sum(1) - f
        d = project_hyperplane_box(
            torch.cat([xc, x0[active]]), torch.cat([w, w]), torch.cat([b, b]), lo, hi, norm
        )
        d1, d2 = d[: len(active)], d[len(active) :]
        a = flat_norm(d, norm).view(-1).clamp_min(1e-8)
        a1, a2 = a[: len(active)], a[len(active) :]
        alpha = (a1 / (a1 + a2)).clamp(0.0, alpha_max)[:, None]
        xn = ((xc + eta * d1) * (1 - alpha) + (x0[active] + eta * d2) * alpha).clamp(lo, hi)
        with torch.no_grad():
            pred = target.logits(xn.view(len(active), *x.shape[1:])).argmax(1)
        adv = pred == goal[active] if reach_goal and goal is not None else pred != ya
        if bool(adv.any()):
            ia = active[adv]
            nrm = flat_norm(xn[adv] - x0[ia], norm).view(-1).double()
            better = nrm < best_norm[ia]
            best[ia[better]] = xn[adv][better].view(-1, *x.shape[1:])
            best_norm[ia[better]] = nrm[better]
            xn[adv] = x0[ia] + beta * (xn[adv] - x0[ia])
        x1[active] = xn
        if eps_stop is not None:
            active = active[best_norm[active] > eps_stop]
    return best, best_norm
