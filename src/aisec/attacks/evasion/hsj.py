"""HopSkipJump: a decision-based attack that needs only the predicted labels."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from aisec import progress
from aisec.attacks.evasion.base import NORMS, AttackContext, MinimumNormAttack, Perturbation
from aisec.params import Interval, Options, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability

if TYPE_CHECKING:
    from aisec.targets.views import Classifier

INIT_TRIES = 100
"""Random uniform draws per sample when looking for a first adversarial point."""
INIT_TOL = 1e-3
"""Tolerance of the blend search that moves the first adversarial point toward the input."""
MAX_ELEMENTS = 1 << 22
"""Largest number of input values sent to the target in one call."""


@register
class HopSkipJump(MinimumNormAttack):
    """HopSkipJump (HSJA) under L2 or L-inf, vectorised across samples.

    From a first adversarial point (uniform noise, moved toward the input by a blend search;
    for targeted runs, another input of the target class), each iteration ``t`` (1) estimates
    the gradient direction of the decision boundary at the current boundary point from
    ``min(init_evals * sqrt(t), max_evals)`` label queries around it (Monte Carlo with a
    baseline), (2) steps along it by a geometric search starting at ``dist / sqrt(t)``, and (3)
    binary-searches back to the boundary toward the input (threshold ``gamma / d^{3/2}`` for L2,
    ``gamma / d^2`` for L-inf). Every label query counts against the per-sample budget
    ``queries``, which is never exceeded; the returned point is always one the target
    classified as adversarial. With a single budget ``eps``, a point stops once its adversarial
    is within ``eps``.

    Reference: Chen, Jordan, Wainwright. "HopSkipJumpAttack: A Query-Efficient Decision-Based
    Attack", IEEE S&P 2020.
    """

    id = "evasion.hsj"
    name = "HopSkipJump"
    requires = frozenset({Capability.LABELS})
    references = ("Chen, Jordan & Wainwright, IEEE S&P 2020, arXiv:1904.02144",)
    supported_norms: ClassVar[tuple[str, ...]] = ("l2", "linf")
    parameters = declare(
        norm=Param("l2", Options(NORMS), "Norm of the perturbation: l2 or linf."),
        queries=Param(5000, Interval(int, 1, 10_000_000), "Label queries per point."),
        steps=Param(1000, Interval(int, 1, 1_000_000), "Most iterations per point."),
        init_evals=Param(100, Interval(int, 1, 1_000_000), "Gradient-estimate queries at t=1."),
        max_evals=Param(
            10_000, Interval(int, 1, 1_000_000), "Most gradient-estimate queries per step."
        ),
        gamma=Param(
            1.0, Interval(float, 0, None, closed="neither"), "Binary-search threshold factor."
        ),
    )

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        p = ctx.params
        # With a curve, the base re-attacks unbroken points at each budget; remembering each
        # point's answer (in the run's memo) keeps the per-sample query budget strict.
        memo: dict[bytes, Any] | None = ctx.memo
        budgets = set(p.get("curve") or []) | ({p["eps"]} if p.get("eps") is not None else set())
        several = len(budgets) > 1
        eps_stop = None if several else ctx.eps
        out = x.clone()
        queries = np.zeros(len(x), dtype=np.int64)
        keys = [row.numpy().tobytes() for row in x] if memo is not None else []
        for i, k in enumerate(keys):
            if memo is not None and k in memo:
                out[i] = memo[k][0]  # answered at a smaller budget: no new queries
        todo = (
            [i for i, k in enumerate(keys) if memo is None or k not in memo]
            if keys
            else list(range(len(x)))
        )
        if todo:
            idx = torch.as_tensor(todo)
            adv, q = hsj_run(
                ctx.target,
                x[idx],
                y[idx],
                None if ctx.y_target is None else ctx.y_target[idx],
                norm=ctx.norm,
                budget=int(p["queries"]),
                steps=int(p["steps"]),
                init_evals=int(p["init_evals"]),
                max_evals=int(p["max_evals"]),
                gamma=float(p["gamma"]),
                eps_stop=eps_stop,
                gen=ctx.generator,
            )
            out[idx] = adv
            queries[todo] = q
            if memo is not None and several:
                for j, i in enumerate(todo):
                    memo[keys[i]] = (adv[j], int(q[j]))
        return Perturbation(out, queries=queries)


class _Oracle:
    """Label queries charged to the samples they are about, never beyond each one's budget."""

    def __init__(
        self, target: Classifier, y: torch.Tensor, y_target: torch.Tensor | None, budget: int
    ) -> None:
        self.target = target
        self.y = y
        self.y_target = y_target
        self.budget = budget
        self.used = np.zeros(len(y), dtype=np.int64)
        lo, hi = target.spec.bounds
        self.lo, self.hi = lo, hi

    def left(self, owner: torch.Tensor) -> torch.Tensor:
        """Queries each of ``owner``'s samples may still spend."""
        return torch.as_tensor(self.budget - self.used[owner.numpy()])

    def __call__(self, xs: torch.Tensor, owner: torch.Tensor) -> torch.Tensor:
        """Whether each input is adversarial for the sample that owns it."""
        if not len(xs):
            return torch.zeros(0, dtype=torch.bool)
        own = owner.numpy()
        np.add.at(self.used, own, 1)
        assert (self.used[own] <= self.budget).all(), "query budget exceeded"
        flat = xs.clamp(self.lo, self.hi).to(torch.float32)
        per = max(1, MAX_ELEMENTS // max(1, flat[0].numel()))
        preds = [
            np.asarray(self.target.predict_labels(flat[s : s + per].numpy()))
            for s in range(0, len(flat), per)
        ]
        pred = torch.as_tensor(np.concatenate(preds)).long()
        if self.y_target is not None:
            return pred == self.y_target[owner]
        return pred != self.y[owner]


def _blend(x0: torch.Tensor, xa: torch.Tensor, alpha: torch.Tensor, norm: str) -> torch.Tensor:
    """Points between ``x0`` and ``xa``: a convex blend (L2) or a clip to an L-inf ball."""
    a = alpha.view((-1,) + (1,) * (x0.dim() - 1)).to(x0.dtype)
    if norm == "l2":
        return (1 - a) * x0 + a * xa
    return torch.minimum(torch.maximum(xa, x0 - a), x0 + a)


def _dist(d: torch.Tensor, norm: str) -> torch.Tensor:
    flat = d.reshape(len(d), -1).double()
    return flat.norm(dim=1) if norm == "l2" else flat.abs().amax(1)


def _boundary_search(
    oracle: _Oracle,
    x0: torch.Tensor,
    xa: torch.Tensor,
    owner: torch.Tensor,
    norm: str,
    theta: float,
) -> torch.Tensor:
    """Binary search from the adversarial ``xa`` toward ``x0``; returns adversarial points."""
    n = len(x0)
    if norm == "l2":
        high = torch.ones(n, dtype=torch.float64)
        tol = torch.full((n,), theta, dtype=torch.float64)
    else:
        high = _dist(xa - x0, "linf")
        tol = torch.clamp(high * theta, max=theta)
    low = torch.zeros(n, dtype=torch.float64)
    best = xa.clone()
    while True:
        go = ((high - low) > tol) & (oracle.left(owner) > 0)
        i = go.nonzero().flatten()
        if not len(i):
            return best
        mid = (high[i] + low[i]) / 2
        cand = _blend(x0[i], xa[i], mid, norm).clamp(oracle.lo, oracle.hi)
        adv = oracle(cand, owner[i])
        high[i[adv]] = mid[adv]
        best[i[adv]] = cand[adv]
        low[i[~adv]] = mid[~adv]


def _initialise(
    oracle: _Oracle, x0: torch.Tensor, owner: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A first adversarial point per sample and whether one was found."""
    n = len(x0)
    start = x0.clone()
    found = torch.zeros(n, dtype=torch.bool)
    if oracle.y_target is not None:
        # another input of the target class when the batch holds one, confirmed by one query
        for i in range(n):
            same = (oracle.y == oracle.y_target[i]).nonzero().flatten()
            if len(same):
                start[i] = x0[same[0]]
                found[i] = True
        i = found.nonzero().flatten()
        found[i] = oracle(start[i], owner[i])
    for _ in range(INIT_TRIES):
        i = (~found & (oracle.left(owner) > 0)).nonzero().flatten()
        if not len(i):
            break
        u = torch.rand(x0[i].shape, generator=gen, dtype=x0.dtype)
        noise = oracle.lo + (oracle.hi - oracle.lo) * u
        adv = oracle(noise, owner[i])
        start[i[adv]] = noise[adv]
        found[i[adv]] = True
    # blend search toward the input (as in the reference implementation)
    i = found.nonzero().flatten()
    high = torch.ones(len(i), dtype=torch.float64)
    low = torch.zeros(len(i), dtype=torch.float64)
    best = start[i].clone()
    while len(i):
        go = ((high - low) > INIT_TOL) & (oracle.left(owner[i]) > 0)
        j = go.nonzero().flatten()
        if not len(j):
            break
        mid = (high[j] + low[j]) / 2
        cand = _blend(x0[i[j]], start[i[j]], mid, "l2")
        adv = oracle(cand, owner[i[j]])
        high[j[adv]] = mid[adv]
        best[j[adv]] = cand[adv]
        low[j[~adv]] = mid[~adv]
    start[i] = best
    return start, found


def _gradient_direction(
    oracle: _Oracle,
    xb: torch.Tensor,
    owner: torch.Tensor,
    delta: torch.Tensor,
    evals: int,
    norm: str,
    gen: torch.Generator,
) -> torch.Tensor:
    """Monte Carlo estimate (with baseline) of the boundary's normal at ``xb``, per sample."""
    n = len(xb)
    shape = xb.shape[1:]
    dim = xb[0].numel()
    k = torch.clamp(oracle.left(owner), max=evals)  # evaluations each sample can afford
    grads = torch.zeros_like(xb)
    per = max(1, MAX_ELEMENTS // max(1, evals * dim))
    for s in range(0, n, per):
        sl = slice(s, min(n, s + per))
        m = sl.stop - sl.start
        if norm == "l2":
            rv = torch.randn((m, evals, *shape), generator=gen, dtype=xb.dtype)
        else:
            rv = 2 * torch.rand((m, evals, *shape), generator=gen, dtype=xb.dtype) - 1
        rv = rv / rv.reshape(m, evals, -1).norm(dim=2).clamp_min(1e-12).view(
            m, evals, *([1] * len(shape))
        )
        dl = delta[sl].to(xb.dtype).view(m, 1, *([1] * len(shape)))
        pts = (xb[sl, None] + dl * rv).clamp(oracle.lo, oracle.hi)
        rv = (pts - xb[sl, None]) / dl
        use = torch.arange(evals)[None, :] < k[sl, None]  # (m, evals)
        ii, jj = use.nonzero(as_tuple=True)
        dec = torch.zeros(m, evals, dtype=xb.dtype)
        dec[ii, jj] = oracle(pts[ii, jj], owner[sl][ii]).to(xb.dtype) * 2 - 1
        cnt = use.sum(1).clamp_min(1).to(xb.dtype)
        mean = dec.sum(1) / cnt
        fval = torch.where(mean.abs()[:, None] == 1, dec, (dec - mean[:, None]) * use)
        g = (fval.view(m, evals, *([1] * len(shape))) * rv).sum(1) / cnt.view(
            m, *([1] * len(shape))
        )
        grads[sl] = g
    return grads / grads.reshape(n, -1).norm(dim=1).clamp_min(1e-12).view(n, *([1] * len(shape)))


def hsj_run(
    target: Classifier,
    x: torch.Tensor,
    y: torch.Tensor,
    y_target: torch.Tensor | None,
    *,
    norm: str,
    budget: int,
    steps: int,
    init_evals: int,
    max_evals: int,
    gamma: float,
    eps_stop: float | None,
    gen: torch.Generator,
) -> tuple[torch.Tensor, np.ndarray]:
    """HopSkipJump on a batch of correctly classified points.

    Returns:
        Adversarial points (the input itself where no adversarial was found) and the label
        queries spent per sample (never above ``budget``).
    """
    n = len(x)
    x = x.to(torch.float32)
    oracle = _Oracle(target, y, y_target, budget)
    owner = torch.arange(n)
    dim = x[0].numel()
    theta = gamma / (dim * math.sqrt(dim)) if norm == "l2" else gamma / dim**2
    lo, hi = target.spec.bounds
    start, found = _initialise(oracle, x, owner, gen)
    adv = x.clone()
    fi = found.nonzero().flatten()
    adv[fi] = _boundary_search(oracle, x[fi], start[fi], owner[fi], norm, theta)
    dist = torch.full((n,), float("inf"), dtype=torch.float64)
    dist[fi] = _dist(adv[fi] - x[fi], norm)
    dist_post = dist.clone()
    alive = found.clone()
    for t in range(1, steps + 1):
        progress.count("iteration", t, steps)
        if eps_stop is not None:
            alive &= dist > eps_stop
        alive &= oracle.left(owner) > 0
        i = alive.nonzero().flatten()
        if not len(i):
            break
        if t == 1:
            delta = torch.full((len(i),), 0.1 * (hi - lo), dtype=torch.float64)
        else:
            factor = math.sqrt(dim) if norm == "l2" else dim
            delta = (factor * theta * dist_post[i]).clamp_min(1e-12)
        evals = int(min(init_evals * math.sqrt(t), max_evals))
        grad = _gradient_direction(oracle, adv[i], owner[i], delta, evals, norm, gen)
        update = grad if norm == "l2" else grad.sign()
        # geometric step search: halve the step until the moved point is adversarial
        eps = (dist[i] / math.sqrt(t)).to(x.dtype)
        moved = adv[i].clone()
        ok = torch.zeros(len(i), dtype=torch.bool)
        pending = torch.ones(len(i), dtype=torch.bool)
        while True:
            pending &= oracle.left(owner[i]) > 0
            j = pending.nonzero().flatten()
            if not len(j):
                break
            cand = (adv[i[j]] + eps[j].view((-1,) + (1,) * (x.dim() - 1)) * update[j]).clamp(lo, hi)
            hit = oracle(cand, owner[i[j]])
            moved[j[hit]] = cand[hit]
            ok[j[hit]] = True
            pending[j[hit]] = False
            eps[j[~hit]] /= 2
            pending[j[~hit]] &= eps[j[~hit]] > 1e-12 * (hi - lo)
        k = ok.nonzero().flatten()
        if len(k):
            new = _boundary_search(oracle, x[i[k]], moved[k], owner[i[k]], norm, theta)
            nd = _dist(new - x[i[k]], norm)
            dist_post[i[k]] = nd
            better = nd < dist[i[k]]
            adv[i[k[better]]] = new[better]
            dist[i[k[better]]] = nd[better]
    return adv, oracle.used.copy()
