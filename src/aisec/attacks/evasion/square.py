"""Square attack: score-based black-box random search with square-shaped updates.

Reference: Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient
black-box adversarial attack via random search", ECCV 2020 (arXiv:1912.00049).
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch

from aisec import progress
from aisec.attacks.evasion.base import AttackContext, FixedBudgetAttack, Perturbation
from aisec.attacks.evasion.losses import margin
from aisec.params import Interval, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability, OutputMode

if TYPE_CHECKING:
    from aisec.targets.views import Classifier, Differentiable

_P_SCHEDULE = (
    (10, 1),
    (50, 2),
    (200, 4),
    (500, 8),
    (1000, 16),
    (2000, 32),
    (4000, 64),
    (6000, 128),
    (8000, 256),
)


def p_selection(p_init: float, it: int, n_queries: int) -> float:
    """Fraction of pixels changed at iteration ``it``: the paper's piecewise-constant schedule.

    The iteration is rescaled to a budget of 10,000 queries; ``p`` is halved at iterations
    10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000.
    """
    it = int(it / n_queries * 10000)
    div = 512
    for bound, d in _P_SCHEDULE:
        if it <= bound:
            div = d
            break
    return p_init / div


class ScoreOracle:
    """Margin queries on a target, counted per sample.

    A differentiable torch target answers through its logits under ``no_grad`` (the same
    scores its deployment reveals in logits mode); any other target through
    :meth:`Target.predict`, whose probabilities are turned into log-probabilities so the margin
    is the log-odds margin. A ``top1_probability`` target reveals only the top class and its
    probability ``p``; the margin then uses ``1 - p`` as the bound on the best other class.
    """

    def __init__(self, target: Classifier, white_box: Differentiable | None = None) -> None:
        self.target = target
        self.white_box = white_box

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Log-scores per class for a batch."""
        t = self.target
        if self.white_box is not None:
            with torch.no_grad():
                return self.white_box.logits_batched(x).float().cpu()
        out = torch.as_tensor(np.asarray(t.predict(x.numpy()), dtype=np.float64))
        if t.output_mode is OutputMode.LOGITS:
            return out
        if t.output_mode is OutputMode.TOP1_PROBABILITY:
            top = out.argmax(1)
            p = out.gather(1, top[:, None]).clamp(1e-12, 1 - 1e-12)
            rest = ((1 - p) / max(out.shape[1] - 1, 1)).expand_as(out).clone()
            rest.scatter_(1, top[:, None], p)
            return rest.log()
        return out.clamp_min(1e-30).log()

    def margin(self, x: torch.Tensor, y: torch.Tensor, yt: torch.Tensor | None) -> torch.Tensor:
        """Margin per sample (negative means success); one query per sample."""
        return margin(self.scores(x), y, yt).to(torch.float64)


@register
class Square(FixedBudgetAttack):
    """Square attack under L-inf or L2, on the margin loss, within a query budget.

    Each iteration changes one random square window (side from the fraction ``p`` of the
    paper's schedule, starting at ``p_init``) and keeps the change only if the margin drops;
    points stop as soon as they are misclassified (targeted: reach the target). Queries per
    sample (initial point included) never exceed ``queries`` per restart; ``restarts`` repeat
    the search on the points still robust. As in the authors' code, the window position is
    shared by the batch at each iteration while the window's values are drawn per sample.

    Inputs that are not images (any shape other than ``C x H x W``) are treated as one row
    ``1 x 1 x D``: windows become contiguous runs of ``p * D`` features, and the L2 update uses
    a random-sign block instead of the image-shaped pseudo-Gaussian.

    Reference: Andriushchenko et al., "Square Attack: a query-efficient black-box adversarial
    attack via random search", ECCV 2020.
    """

    id = "evasion.square"
    name = "Square"
    requires = frozenset({Capability.SCORES})
    supported_norms: ClassVar[tuple[str, ...]] = ("linf", "l2")
    references = ("Andriushchenko et al., ECCV 2020, arXiv:1912.00049",)
    parameters = declare(
        queries=Param(5000, Interval(int, 1, 10_000_000), "Score queries per point and restart."),
        restarts=Param(1, Interval(int, 1, 1000), "Restarts on the points still robust."),
        p_init=Param(
            0.8, Interval(float, 0, 1, closed="right"), "Initial fraction of pixels changed."
        ),
    )

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        p = ctx.params
        assert ctx.eps is not None
        oracle = ScoreOracle(ctx.target, ctx.white_box)
        rng = random.Random(int(torch.randint(0, 2**31 - 1, (1,), generator=ctx.generator)))
        best = x.clone()
        queries = np.zeros(len(x), dtype=np.int64)
        alive = torch.ones(len(x), dtype=torch.bool)
        bs = ctx.model.batch_size if ctx.white_box is not None else 512
        for _ in range(p["restarts"]):
            idx = alive.nonzero().flatten()
            for s in range(0, len(idx), bs):
                sub = idx[s : s + bs]
                yt = None if ctx.y_target is None else ctx.y_target[sub]
                adv, hit, q = square_run(
                    oracle,
                    x[sub],
                    y[sub],
                    yt,
                    eps=ctx.eps,
                    norm=ctx.norm,
                    n_queries=p["queries"],
                    p_init=p["p_init"],
                    bounds=ctx.target.spec.bounds,
                    gen=ctx.generator,
                    rng=rng,
                )
                best[sub] = adv
                queries[sub.numpy()] += q
                alive[sub[torch.as_tensor(hit)]] = False
        return Perturbation(best, queries=queries)


def _as_image(x: torch.Tensor) -> torch.Tensor:
    return x if x.dim() == 4 else x.reshape(len(x), 1, 1, -1)


def square_run(
    oracle: ScoreOracle,
    x: torch.Tensor,
    y: torch.Tensor,
    yt: torch.Tensor | None,
    *,
    eps: float,
    norm: str,
    n_queries: int,
    p_init: float,
    bounds: tuple[float, float],
    gen: torch.Generator,
    rng: random.Random,
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """One Square-attack restart; returns adversarials, success and queries per sample."""
    shape = x.shape
    xi = _as_image(x).to(torch.float32)
    lo, hi = bounds
    n, c, h, w = xi.shape
    flat = h == 1
    if norm == "linf":
        signs = _signs((n, c, 1, w), gen)
        x_best = (xi + eps * signs).clamp(lo, hi)
    else:
        x_best = (xi + eps * _unit_l2(_l2_init(xi.shape, gen, rng))).clamp(lo, hi)
    m_best = oracle.margin(x_best.reshape(shape), y, yt)
    queries = np.ones(n, dtype=np.int64)
    n_features = c * h * w
    for it in range(1, n_queries):
        progress.count("query", it, n_queries)
        active = (m_best > 0).nonzero().flatten()
        if not len(active):
            break
        xa, xb = xi[active], x_best[active]
        p = p_selection(p_init, it, n_queries)
        if norm == "linf":
            x_new = _linf_candidate(xa, xb, eps, p, n_features, flat, lo, hi, gen, rng)
        else:
            x_new = _l2_candidate(xa, xb, eps, p, n_features, flat, lo, hi, gen, rng)
        yt_a = None if yt is None else yt[active]
        m_new = oracle.margin(x_new.reshape((len(active), *shape[1:])), y[active], yt_a)
        queries[active.numpy()] += 1
        improved = m_new < m_best[active]
        if bool(improved.any()):
            upd = active[improved]
            x_best[upd] = x_new[improved]
            m_best[upd] = m_new[improved]
    return x_best.reshape(shape).to(x.dtype), (m_best < 0).numpy(), queries


def _signs(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=gen).to(torch.float32) * 2 - 1


def _window(
    p: float, n_features: int, c: int, h: int, w: int, flat: bool, lo_side: int
) -> tuple[int, int]:
    """Height and width of the square (a run of features for flat inputs)."""
    if flat:
        return 1, int(min(max(round(p * n_features / c), 1), max(w - 1, 1)))
    s = max(round(math.sqrt(p * n_features / c)), lo_side)
    return min(s, max(h - 1, 1)), min(s, max(w - 1, 1))


def _linf_candidate(
    x: torch.Tensor,
    xb: torch.Tensor,
    eps: float,
    p: float,
    n_features: int,
    flat: bool,
    lo: float,
    hi: float,
    gen: torch.Generator,
    rng: random.Random,
) -> torch.Tensor:
    n, c, h, w = x.shape
    sh, sw = _window(p, n_features, c, h, w, flat, 1)
    vh, vw = rng.randint(0, h - sh), rng.randint(0, w - sw)
    win = (slice(None), slice(None), slice(vh, vh + sh), slice(vw, vw + sw))
    cur = xb[win]
    new = (x[win] + eps * _signs((n, c, 1, 1), gen)).clamp(lo, hi)
    # resample windows that would not change (the authors' code does the same)
    for _ in range(4):
        same = ((new - cur).abs() < 1e-7).reshape(n, -1).all(1)
        if not bool(same.any()):
            break
        redo = (x[win][same] + eps * _signs((int(same.sum()), c, 1, 1), gen)).clamp(lo, hi)
        new[same] = redo
    x_new = xb.clone()
    x_new[win] = new
    return x_new


def _eta_rect(a: int, b: int) -> torch.Tensor:
    """Concentric rectangles with weights 1/(k+1)^2, unit L2 norm (the paper's eta)."""
    delta = torch.zeros(a, b)
    ca, cb = a // 2 + 1, b // 2 + 1
    r0, r1 = ca - 1, cb - 1
    for k in range(max(ca, cb)):
        delta[max(r0, 0) : min(r0 + 2 * k + 1, a), max(r1, 0) : min(r1 + 2 * k + 1, b)] += (
            1.0 / (k + 1) ** 2
        )
        r0, r1 = r0 - 1, r1 - 1
    return delta / delta.norm().clamp_min(1e-12)


def _eta(s: int, rng: random.Random) -> torch.Tensor:
    """The meta pseudo-Gaussian square of the L2 attack: two halves of opposite sign."""
    delta = torch.zeros(s, s)
    delta[: s // 2] = _eta_rect(s // 2, s)
    delta[s // 2 :] = -_eta_rect(s - s // 2, s)
    delta = delta / delta.norm().clamp_min(1e-12)
    return delta.t().contiguous() if rng.random() > 0.5 else delta


def _unit_l2(d: torch.Tensor) -> torch.Tensor:
    return d / d.reshape(len(d), -1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)


def _l2_init(shape: torch.Size, gen: torch.Generator, rng: random.Random) -> torch.Tensor:
    """A grid of pseudo-Gaussian squares with random signs (random signs for flat inputs)."""
    n, c, h, w = shape
    delta = torch.zeros(shape)
    if h < 5 or w < 5:
        return _signs(tuple(shape), gen)
    s = h // 5
    start = (h - s * 5) // 2
    vh = start
    for _ in range(h // s):
        vw = start
        for _ in range(w // s):
            if vh + s <= h and vw + s <= w:
                block = _eta(s, rng).view(1, 1, s, s) * _signs((n, c, 1, 1), gen)
                delta[:, :, vh : vh + s, vw : vw + s] += block
            vw += s
        vh += s
    return delta


def _l2_candidate(
    x: torch.Tensor,
    xb: torch.Tensor,
    eps: float,
    p: float,
    n_features: int,
    flat: bool,
    lo: float,
    hi: float,
    gen: torch.Generator,
    rng: random.Random,
) -> torch.Tensor:
    n, c, h, w = x.shape
    if flat:
        sh, sw = _window(p, n_features, c, h, w, flat, 1)
    else:
        s = max(round(math.sqrt(p * n_features / c)), 3)
        s += 1 - s % 2  # an odd side, as in the authors' code
        sh = sw = max(min(s, h, w), 1)
    vh, vw = rng.randint(0, h - sh), rng.randint(0, w - sw)
    vh2, vw2 = rng.randint(0, h - sh), rng.randint(0, w - sw)
    w1 = (slice(None), slice(None), slice(vh, vh + sh), slice(vw, vw + sw))
    w2 = (slice(None), slice(None), slice(vh2, vh2 + sh), slice(vw2, vw2 + sw))
    delta = xb - x
    norms_w1 = delta[w1].pow(2).sum((-2, -1), keepdim=True).sqrt()
    mask = torch.zeros_like(x)
    mask[w1] = 1.0
    mask[w2] = 1.0
    norm_img = delta.reshape(n, -1).norm(dim=1).view(-1, 1, 1, 1)
    norm_win = (delta * mask).reshape(n, -1).norm(dim=1).view(-1, 1, 1, 1)
    if flat or sh != sw:
        shape_block = torch.ones(1, 1, sh, sw) / math.sqrt(sh * sw)
    else:
        shape_block = _eta(sh, rng).view(1, 1, sh, sw)
    new = shape_block * _signs((n, c, 1, 1), gen) + delta[w1] / (norms_w1 + 1e-12)
    budget = ((eps**2 - norm_img**2).clamp_min(0) / c + norm_win**2).sqrt()
    new = new / new.pow(2).sum((-2, -1), keepdim=True).sqrt().clamp_min(1e-12) * budget
    delta[w2] = 0.0
    delta[w1] = new
    return (x + eps * _unit_l2(delta)).clamp(lo, hi)
