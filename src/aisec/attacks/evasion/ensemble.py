"""The AutoAttack evaluation ensemble: diverse parameter-free attacks, worst case per point.

Reference: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
diverse parameter-free attacks", ICML 2020 (arXiv:2003.01690), the "standard" version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from aisec.attacks.evasion.apgd import APGDCE, APGDT
from aisec.attacks.evasion.base import (
    AttackContext,
    EvasionAttack,
    Perturbation,
    merged_constraints,
    merged_defaults,
)
from aisec.attacks.evasion.gradients import project
from aisec.attacks.evasion.square import Square
from aisec.params import Options
from aisec.registry import register
from aisec.targets.base import Capability

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.records import Result
    from aisec.targets.base import Target


@dataclass(frozen=True)
class Stage:
    """One attack of an ensemble preset."""

    label: str
    """Name shown in ``metrics["stages"]`` (e.g. ``apgd-t``)."""
    attack_id: str
    """Registered id of the attack class."""
    params: dict[str, Any] = field(default_factory=dict)
    """Parameters given to the attack (over its defaults)."""


PRESETS: dict[str, tuple[Stage, ...]] = {
    "standard": (
        Stage("apgd-ce", "evasion.apgd-ce", {"steps": 100, "restarts": 1}),
        Stage("apgd-t", "evasion.apgd-t", {"steps": 100, "restarts": 1, "n_target_classes": 9}),
        Stage(
            "fab-t",
            "evasion.fab",
            {"steps": 100, "restarts": 1, "n_target_classes": 9, "targeted": True},
        ),
        Stage("square", "evasion.square", {"queries": 5000, "restarts": 1, "p_init": 0.8}),
    ),
    "fast": (
        Stage("apgd-ce", "evasion.apgd-ce", {"steps": 100, "restarts": 1}),
        Stage("apgd-t", "evasion.apgd-t", {"steps": 100, "restarts": 1, "n_target_classes": 3}),
        Stage("square", "evasion.square", {"queries": 1000, "restarts": 1, "p_init": 0.8}),
    ),
}
"""Attack sequences; ``standard`` is exactly the published AutoAttack standard version."""

DEPARTURES: dict[str, tuple[str, ...]] = {
    "standard": (),
    "fast": (
        "APGD-T attacks the top 3 target classes instead of 9",
        "FAB-T is left out",
        "Square uses 1000 queries instead of 5000",
    ),
}
"""How each preset departs from the published standard version (empty: none)."""


def _attack_class(attack_id: str) -> type[EvasionAttack] | None:
    """The stage's class, or None when its module is not available in this installation."""
    known: dict[str, type[EvasionAttack]] = {
        "evasion.apgd-ce": APGDCE,
        "evasion.apgd-t": APGDT,
        "evasion.square": Square,
    }
    if attack_id in known:
        return known[attack_id]
    if attack_id == "evasion.fab":
        try:
            from aisec.attacks.evasion.fab import FAB
        except ImportError:
            return None
        return FAB
    return None


@register
class Ensemble(EvasionAttack):
    """Run the attacks of a preset in sequence, each on the points still robust.

    A point counts as broken by the first stage whose adversarial example (re-scored by an
    independent forward pass, and projected onto the ``eps`` ball for minimum-norm stages) is
    misclassified; the ensemble's robust accuracy is the per-point worst case over all stages,
    so it is never higher than that of any single stage. ``metrics["stages"]`` lists
    ``{"attack", "robust_accuracy", "seconds", "broken"}`` after each stage, at the budget
    ``eps`` (with a ``curve``, points already broken at a smaller budget are not attacked
    again, so ``broken`` counts only the points a stage broke at the budget).

    ``preset: standard`` (default) is the published AutoAttack standard version: APGD-CE
    (no restarts, 100 iterations), APGD-T (9 target classes, 100 iterations), FAB-T (9 target
    classes, 100 iterations) and Square (5000 queries, 1 restart).
    ``preset: fast`` departs from it as ``metrics["preset_departures"]`` says.

    Reference: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
    diverse parameter-free attacks", ICML 2020.
    """

    id = "evasion.ensemble"
    name = "AutoAttack ensemble"
    requires = frozenset({Capability.GRADIENTS})
    supported_norms: ClassVar[tuple[str, ...]] = ("linf", "l2")
    references = ("Croce & Hein, ICML 2020, arXiv:2003.01690",)
    constraints = merged_constraints(preset=Options(tuple(PRESETS)))
    defaults = merged_defaults(preset="standard")

    def validate(self, target: Target, data: Dataset | None, params: dict[str, Any]) -> None:
        """The ensemble evaluates untargeted robustness only."""
        from aisec.errors import ParameterError

        super().validate(target, data, params)
        if params.get("targeted"):
            raise ParameterError(
                self.id,
                ["the ensemble is untargeted; run evasion.apgd-dlr with targeted: true instead"],
            )
        if params.get("eps") is None:
            raise ParameterError(self.id, ["`eps` is required for the ensemble"])

    def _run(
        self, target: Target, data: Dataset | None, params: dict[str, Any], seed: int
    ) -> Result:
        self._log: dict[float, list[dict[str, Any]]] = {}
        result = super()._run(target, data, params, seed)
        assert data is not None
        n = len(data.y)
        # no point left to attack at the budget: every stage leaves the robust accuracy at 0
        empty = [
            {"attack": s.label, "broken": 0, "remaining": 0, "seconds": 0.0}
            for s in PRESETS[params["preset"]]
        ]
        log = self._log.get(float(params["eps"]), empty)
        metrics = dict(result.metrics)
        metrics["preset"] = params["preset"]
        metrics["preset_departures"] = list(DEPARTURES[params["preset"]])
        metrics["stages"] = [
            {
                "attack": e["attack"],
                "robust_accuracy": e["remaining"] / n if n else 0.0,
                "seconds": e["seconds"],
                "broken": e["broken"],
                **({"unavailable": True} if e.get("unavailable") else {}),
            }
            for e in log
        ]
        return replace(result, metrics=metrics)

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        assert ctx.eps is not None
        target = ctx.target
        best = x.clone()
        alive = torch.ones(len(x), dtype=torch.bool)
        queries = np.zeros(len(x), dtype=np.int64)
        log: list[dict[str, Any]] = []
        for stage in PRESETS[ctx.params["preset"]]:
            start = time.perf_counter()
            cls = _attack_class(stage.attack_id)
            idx = alive.nonzero().flatten()
            entry: dict[str, Any] = {"attack": stage.label, "broken": 0}
            if cls is None:
                entry["unavailable"] = True
            elif len(idx):
                attack = cls(**stage.params)
                sub = AttackContext(
                    target=target,
                    eps=ctx.eps,
                    norm=ctx.norm,
                    params={**attack.resolved_params(), "eps": ctx.eps, "norm": ctx.norm},
                    generator=ctx.generator,
                )
                out = attack._perturb(x[idx], y[idx], sub)
                cand = self._project_to_bounds(out.x_adv.detach().cpu(), target)
                if cls.minimum_norm:
                    lo, hi = target.spec.bounds
                    cand = (x[idx] + project(cand - x[idx], ctx.norm, ctx.eps)).clamp(lo, hi)
                hit = torch.as_tensor(self._rescore(target, cand, y[idx], None))
                best[idx[hit]] = cand[hit]
                alive[idx[hit]] = False
                if out.queries is not None:
                    queries[idx.numpy()] += out.queries
                entry["broken"] = int(hit.sum())
            entry["remaining"] = int(alive.sum())
            entry["seconds"] = time.perf_counter() - start
            log.append(entry)
        self._log[float(ctx.eps)] = log
        return Perturbation(best, queries=queries if queries.any() else None)
