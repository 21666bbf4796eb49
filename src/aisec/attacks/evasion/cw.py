"""Carlini-Wagner L2: penalised margin minimisation in tanh space with a search over ``c``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import torch

from aisec import progress
from aisec.attacks.evasion.base import NORMS, AttackContext, MinimumNormAttack, Perturbation
from aisec.params import Boolean, Interval, Options, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability

if TYPE_CHECKING:
    from aisec.targets.views import Differentiable

ADAM_BETAS = (0.9, 0.999)
UNBOUNDED = 1e10


@register
class CarliniWagnerL2(MinimumNormAttack):
    """Carlini-Wagner L2 attack, batched, with one constant ``c`` per sample.

    The input is written ``x = lo + (hi - lo) * (tanh(w) + 1) / 2`` so the box holds by
    construction, and Adam minimises ``||x - x0||_2^2 + c * max(Z_y - max_{i!=y} Z_i, -kappa)``
    (targeted: ``max(max_{i!=t} Z_i - Z_t, -kappa)``) over ``w``. A binary search over ``c``
    (``binary_search_steps`` rounds, starting at ``initial_const``, multiplying by 10 until a
    first success) keeps for each sample the smallest perturbation that is adversarial with
    margin ``kappa``. With ``abort_early`` a sample stops a round when its loss has not
    decreased by 0.01% over the last tenth of the steps.

    Reference: Carlini, Wagner. "Towards Evaluating the Robustness of Neural Networks",
    IEEE S&P 2017.
    """

    id = "evasion.cw"
    name = "Carlini-Wagner L2"
    requires = frozenset({Capability.GRADIENTS})
    watches_gradients = True
    probes_gradients = True
    references = ("Carlini & Wagner, IEEE S&P 2017, arXiv:1608.04644",)
    supported_norms: ClassVar[tuple[str, ...]] = ("l2",)
    parameters = declare(
        norm=Param("l2", Options(NORMS), "Norm of the perturbation (L2 only)."),
        steps=Param(1000, Interval(int, 1, 100_000), "Adam steps per binary-search round."),
        binary_search_steps=Param(9, Interval(int, 1, 100), "Rounds of the search over c."),
        initial_const=Param(
            1.0, Interval(float, 0, None, closed="neither"), "Starting constant c."
        ),
        lr=Param(1e-2, Interval(float, 0, None, closed="neither"), "Adam learning rate."),
        confidence=Param(0.0, Interval(float, 0, None), "Margin kappa of the adversarial."),
        abort_early=Param(True, Boolean(), "Stop a round when the loss stalls."),
    )

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        p = ctx.params
        target = ctx.model
        bs = target.batch_size
        out = x.clone()
        for s in range(0, len(x), bs):
            out[s : s + bs] = cw_run(
                target,
                x[s : s + bs],
                y[s : s + bs],
                None if ctx.y_target is None else ctx.y_target[s : s + bs],
                steps=int(p["steps"]),
                search_steps=int(p["binary_search_steps"]),
                initial_const=float(p["initial_const"]),
                lr=float(p["lr"]),
                kappa=float(p["confidence"]),
                abort_early=bool(p["abort_early"]),
            )
        return Perturbation(out)


def cw_run(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    y_target: torch.Tensor | None,
    *,
    steps: int,
    search_steps: int,
    initial_const: float,
    lr: float,
    kappa: float,
    abort_early: bool,
) -> torch.Tensor:
    """C&W L2 on one batch; points with no adversarial found are returned unchanged."""
    lo, hi = target.spec.bounds
    n = len(x)
    scale = (hi - lo) / 2
    w0 = torch.atanh(((x - lo) / scale - 1).clamp(-1 + 1e-6, 1 - 1e-6))
    label = y if y_target is None else y_target
    onehot = torch.nn.functional.one_hot(label, target.spec.n_classes).bool()
    lower = torch.zeros(n, dtype=torch.float64)
    upper = torch.full((n,), UNBOUNDED, dtype=torch.float64)
    const = torch.full((n,), initial_const, dtype=torch.float64)
    best_l2 = torch.full((n,), float("inf"), dtype=torch.float64)
    best = x.clone()
    check_every = max(1, steps // 10)
    for search in range(search_steps):
        progress.count("binary search step", search + 1, search_steps)
        w = w0.clone()
        m = torch.zeros_like(w)
        v = torch.zeros_like(w)
        found = torch.zeros(n, dtype=torch.bool)
        prev = torch.full((n,), float("inf"), dtype=torch.float64)
        active = torch.arange(n)
        c = const.to(x.dtype)
        for it in range(1, steps + 1):
            wa = w[active].requires_grad_(True)
            xa = lo + scale * (torch.tanh(wa) + 1)
            logits = target.logits(xa)
            oh = onehot[active]
            z_lab = logits[oh]
            z_other = logits.masked_fill(oh, float("-inf")).amax(1)
            margin = z_lab - z_other if y_target is None else z_other - z_lab
            l2sq = (xa - x[active]).reshape(len(active), -1).pow(2).sum(1)
            loss = l2sq + c[active] * (margin + kappa).clamp_min(0)
            (grad,) = torch.autograd.grad(loss.sum(), wa)
            with torch.no_grad():
                # adversarial with margin kappa, judged on the iterate the logits belong to
                succ = (
                    margin.detach() <= -kappa
                    if kappa > 0
                    else _crossed(logits, label[active], y_target)
                )
                l2 = l2sq.detach().double().sqrt()
                improve = succ & (l2 < best_l2[active])
                best_l2[active[improve]] = l2[improve]
                best[active[improve]] = xa.detach()[improve]
                found[active[succ]] = True
                b1, b2 = ADAM_BETAS
                m[active] = b1 * m[active] + (1 - b1) * grad
                v[active] = b2 * v[active] + (1 - b2) * grad * grad
                mhat = m[active] / (1 - b1**it)
                vhat = v[active] / (1 - b2**it)
                w[active] = wa.detach() - lr * mhat / (vhat.sqrt() + 1e-8)
                if abort_early and it % check_every == 0:
                    cur = loss.detach().double()
                    stalled = cur > prev[active] * 0.9999
                    prev[active] = cur
                    active = active[~stalled]
                    if not len(active):
                        break
        # binary search on c, per sample
        upper = torch.where(found, torch.minimum(upper, const), upper)
        lower = torch.where(found, lower, torch.maximum(lower, const))
        const = torch.where(
            upper < UNBOUNDED, (lower + upper) / 2, torch.where(found, const, const * 10)
        )
    return best


def _crossed(
    logits: torch.Tensor, label: torch.Tensor, y_target: torch.Tensor | None
) -> torch.Tensor:
    pred = logits.detach().argmax(1)
    return pred == label if y_target is not None else pred != label
