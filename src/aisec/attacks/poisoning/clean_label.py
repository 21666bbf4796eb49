"""A clean-label backdoor: poisons keep their correct labels.

Reference: Turner, Tsipras, Madry, "Label-Consistent Backdoor Attacks", 2019,
arXiv:1912.02771. Samples of the target class are first made hard to learn from their content
(a PGD perturbation, within an L-inf budget, that a clean model misclassifies), then stamped
with the trigger. Their labels stay correct, so a label audit finds nothing; a model that
fits them leans on the trigger, which then sends triggered inputs of any class to the target.
The perturbation uses aisec's own PGD against the clean baseline model (the attacker's
surrogate).
"""

from __future__ import annotations

import numpy as np

from aisec.attacks.poisoning.backdoor import TriggerAttack
from aisec.attacks.poisoning.base import POI_001, PoisonContext, Poisoned, n_poisons
from aisec.data.dataset import Dataset
from aisec.params import Interval, ListOf, Param, declare
from aisec.registry import register
from aisec.targets.base import Capability


@register
class CleanLabel(TriggerAttack):
    """Label-consistent backdoor: adversarially perturbed, triggered target-class samples.

    ``rates`` are fractions of the whole training set, capped at the target class's share (the
    only samples an attacker may poison without changing a label).
    """

    id = "poisoning.clean-label"
    name = "Clean-label backdoor"
    attack = "clean-label"
    threats = ("backdoor", "data-poisoning")
    references = ("Turner et al. 2019, arXiv:1912.02771",)
    rules = (POI_001,)
    parameters = declare(
        rates=Param(
            [0.03, 0.06, 0.1],
            ListOf(Interval(float, 0.0, 0.5, closed="right"), max_len=12),
            "Poisoning rates (fractions of the training set, capped at the target class's).",
        ),
        poison_eps=Param(
            0.3,
            Interval(float, 0.0, None, closed="neither"),
            "L-inf budget of the poisons' perturbation.",
        ),
        steps=Param(40, Interval(int, 1, 10_000), "PGD steps of the perturbation."),
        size=Param(
            4,
            Interval(int, 1, 64),
            "Side of the patch trigger, in pixels (a clean-label backdoor needs a bolder "
            "trigger than BadNets: on 8x8 digits a 3x3 patch reached 4% success, 4x4 53%).",
        ),
    )

    def _setup(self, train: Dataset, test: Dataset, ctx: PoisonContext) -> str | None:
        import torch

        from aisec.attacks.evasion.pgd import PGD

        t = int(ctx.params["target_class"])
        pool = np.flatnonzero(train.y == t)
        if not len(pool):
            return f"the training split has no sample of target class {t}; pick another class"
        if Capability.GRADIENTS not in ctx.baseline.capabilities:
            return (
                "the clean-label backdoor perturbs its poisons with gradients of a model trained "
                "by the recipe, and this recipe's models give none; use poisoning.backdoor"
            )
        lo, hi = ctx.bounds
        eps = min(float(ctx.params["poison_eps"]), hi - lo)
        pgd = PGD(steps=int(ctx.params["steps"]), restarts=1)
        x = torch.as_tensor(train.x[pool])
        y = torch.as_tensor(train.y[pool])
        adv = pgd.perturb(ctx.baseline, x, y, eps=eps, norm="linf",
                          generator=torch.Generator().manual_seed(ctx.seed))  # fmt: skip
        trigger = self._trigger(train, ctx)
        order = np.random.default_rng(ctx.seed).permutation(len(pool))
        ctx.extra.update(
            mode="all-to-one",
            target_class=t,
            trigger=trigger,
            trigger_kind=ctx.params["trigger"],
            pool=pool[order],
            poisons=trigger.apply(adv.x_adv.numpy())[order],
            surrogate_fooled=float(np.mean(adv.success)),
        )
        return None

    def _poison(self, train: Dataset, rate: float, ctx: PoisonContext) -> Poisoned:
        pool = ctx.extra["pool"]
        k = min(len(pool), n_poisons(rate, len(train)))
        idx = pool[:k]
        x = train.x.copy()
        x[idx] = ctx.extra["poisons"][:k]
        order = np.argsort(idx)
        return Poisoned(x, train.y.copy(), idx[order], 0)
