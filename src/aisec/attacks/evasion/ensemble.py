"""The AutoAttack evaluation ensemble: diverse parameter-free attacks, worst case per point.

Reference: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
diverse parameter-free attacks", ICML 2020 (arXiv:2003.01690), the "standard" version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from aisec import progress
from aisec.attacks.evasion.base import (
    AttackContext,
    EvasionAttack,
    FixedBudgetAttack,
    Perturbation,
    StageLog,
)
from aisec.params import Options, Param, declare
from aisec.records.evasion import EnsembleStage
from aisec.registry import register
from aisec.targets.base import Capability

if TYPE_CHECKING:
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
    """The stage's registered class, or None when this installation does not have it."""
    from aisec.errors import ConfigError
    from aisec.registry import get_test

    try:
        cls = get_test(attack_id)
    except ConfigError:
        return None
    return cls if issubclass(cls, EvasionAttack) else None


@register
class Ensemble(FixedBudgetAttack):
    """Run the attacks of a preset in sequence, each on the points still robust.

    A point counts as broken by the first stage whose adversarial example (re-scored by an
    independent forward pass, and projected onto the ``eps`` ball for minimum-norm stages) is
    misclassified; the ensemble's robust accuracy is the per-point worst case over all stages,
    so it is never higher than that of any single stage. The outcome's ``stages`` list
    ``{"attack", "robust_accuracy", "seconds", "broken"}`` after each stage, at the budget
    ``eps`` (with a ``curve``, points already broken at a smaller budget are not attacked
    again, so ``broken`` counts only the points a stage broke at the budget). Stages are
    composed through their public :meth:`~aisec.attacks.evasion.base.EvasionAttack.perturb`.

    ``preset: standard`` (default) is the published AutoAttack standard version: APGD-CE
    (no restarts, 100 iterations), APGD-T (9 target classes, 100 iterations), FAB-T (9 target
    classes, 100 iterations) and Square (5000 queries, 1 restart).
    ``preset: fast`` departs from it as the outcome's ``preset_departures`` say.

    Reference: Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
    diverse parameter-free attacks", ICML 2020.
    """

    id = "evasion.ensemble"
    name = "AutoAttack ensemble"
    requires = frozenset({Capability.GRADIENTS})
    supported_norms: ClassVar[tuple[str, ...]] = ("linf", "l2")
    references = ("Croce & Hein, ICML 2020, arXiv:2003.01690",)
    parameters = declare(
        preset=Param("standard", Options(tuple(PRESETS)), "Attack sequence: standard or fast.")
    )

    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """The ensemble evaluates untargeted robustness only."""
        problems = super().check(target, data, params)
        if params.get("targeted"):
            problems.append(
                "the ensemble is untargeted; run evasion.apgd-dlr with targeted: true instead"
            )
        return problems

    def _extra_fields(
        self, params: dict[str, Any], stages: tuple[StageLog, ...], n: int
    ) -> dict[str, Any]:
        preset = params["preset"]
        if not stages:  # no point left to attack at the budget: every stage leaves it as it is
            stages = tuple(StageLog(s.label, 0, 0, 0.0) for s in PRESETS[preset])
        return {
            "preset": preset,
            "preset_departures": DEPARTURES[preset],
            "stages": tuple(
                EnsembleStage(
                    attack=e.attack,
                    robust_accuracy=e.remaining / n if n else 0.0,
                    seconds=e.seconds,
                    broken=e.broken,
                    unavailable=e.unavailable,
                )
                for e in stages
            ),
        }

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        assert ctx.eps is not None
        best = x.clone()
        alive = torch.ones(len(x), dtype=torch.bool)
        queries = np.zeros(len(x), dtype=np.int64)
        log: list[StageLog] = []
        stages = PRESETS[ctx.params["preset"]]
        for k, stage in enumerate(stages):
            with progress.stage(f"{stage.label} ({k + 1}/{len(stages)})"):
                log.append(self._stage(stage, x, y, ctx, best, alive, queries))
        return Perturbation(best, queries=queries if queries.any() else None, stages=tuple(log))

    @staticmethod
    def _stage(
        stage: Stage,
        x: torch.Tensor,
        y: torch.Tensor,
        ctx: AttackContext,
        best: torch.Tensor,
        alive: torch.Tensor,
        queries: np.ndarray,
    ) -> StageLog:
        """Run one stage on the points still alive, updating ``best``, ``alive``, ``queries``."""
        start = time.perf_counter()
        cls = _attack_class(stage.attack_id)
        idx = alive.nonzero().flatten()
        broken = 0
        if cls is not None and len(idx):
            batch = cls(**stage.params).perturb(
                ctx.target, x[idx], y[idx], eps=ctx.eps, norm=ctx.norm, generator=ctx.generator
            )
            hit = torch.as_tensor(batch.success)
            best[idx[hit]] = batch.x_adv[hit]
            alive[idx[hit]] = False
            if batch.queries is not None:
                queries[idx.numpy()] += batch.queries
            broken = int(hit.sum())
        return StageLog(
            stage.label,
            broken,
            int(alive.sum()),
            time.perf_counter() - start,
            unavailable=cls is None,
        )
