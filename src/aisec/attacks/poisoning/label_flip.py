"""Label flipping: poisons that keep their inputs and carry the wrong label."""

from __future__ import annotations

from typing import Any

import numpy as np

from aisec.attacks.poisoning.base import (
    POI_001,
    PoisonContext,
    Poisoned,
    PoisoningAttack,
    n_poisons,
    predict_labels,
)
from aisec.data.dataset import Dataset
from aisec.params import Interval, OptionalOf, Options, Param, declare
from aisec.registry import register
from aisec.targets.base import Target


@register
class LabelFlip(PoisoningAttack):
    """Flip the labels of a fraction of the training set.

    ``random`` flips each chosen sample to a uniformly drawn other class (an availability
    attack: its success is the test error); ``pair`` flips samples of ``source_class`` to
    ``target_class`` (an integrity attack: its success is the fraction of source-class test
    inputs classified as the target). At rates above the source class's share, every source
    sample is flipped.

    References: Biggio, Nelson, Laskov, "Poisoning Attacks against Support Vector Machines",
    ICML 2012; Xiao et al., "Adversarial Label Flips Attack on Support Vector Machines", ECAI
    2012; NIST AI 100-2 E2025, NISTAML.013 (data poisoning).
    """

    id = "poisoning.label-flip"
    name = "Label flipping"
    attack = "label-flip"
    threats = ("data-poisoning",)
    references = ("Biggio et al., ICML 2012, arXiv:1206.6389", "Xiao et al., ECAI 2012")
    rules = (POI_001,)
    parameters = declare(
        mode=Param("random", Options(("random", "pair")), "random flips, or source -> target."),
        source_class=Param(
            None, OptionalOf(Interval(int, 0, None)), "Pair mode: class whose labels are flipped."
        ),
        target_class=Param(
            None, OptionalOf(Interval(int, 0, None)), "Pair mode: the label they get."
        ),
    )

    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """Pair mode needs two different classes within the task."""
        if params["mode"] != "pair":
            return []
        from aisec.targets.views import classifier

        k = classifier(target, self.id).spec.n_classes
        problems = []
        for name in ("source_class", "target_class"):
            v = params[name]
            if v is not None and v >= k:
                problems.append(f"`{name}` must be below the {k} classes of the task; got {v}")
        s, t = params["source_class"], params["target_class"]
        if s is not None and s == t:
            problems.append(f"`source_class` and `target_class` must differ; both are {s}")
        return problems

    def _setup(self, train: Dataset, test: Dataset, ctx: PoisonContext) -> str | None:
        p = ctx.params
        ctx.extra["mode"] = p["mode"]
        if p["mode"] == "pair":
            src = 0 if p["source_class"] is None else int(p["source_class"])
            tgt = (src + 1) % ctx.n_classes if p["target_class"] is None else int(p["target_class"])
            if not np.any(test.y == src) or not np.any(train.y == src):
                return f"class {src} has no samples in the train or test split; pick another"
            ctx.extra.update(source_class=src, target_class=tgt)
        return None

    def _poison(self, train: Dataset, rate: float, ctx: PoisonContext) -> Poisoned:
        rng = np.random.default_rng([ctx.seed, round(rate * 1e6)])
        y = train.y.copy()
        if ctx.extra["mode"] == "pair":
            pool = np.flatnonzero(train.y == ctx.extra["source_class"])
            idx = rng.permutation(pool)[: min(len(pool), n_poisons(rate, len(train)))]
            y[idx] = ctx.extra["target_class"]
        else:
            idx = rng.permutation(len(train))[: n_poisons(rate, len(train))]
            shift = rng.integers(1, ctx.n_classes, size=len(idx))
            y[idx] = (train.y[idx] + shift) % ctx.n_classes
        return Poisoned(train.x, y, np.sort(idx), len(idx))

    def _success(self, model: Target, test: Dataset, ctx: PoisonContext) -> float:
        if ctx.extra["mode"] == "pair":
            src = test.y == ctx.extra["source_class"]
            pred = predict_labels(model, test.x[src], self.id)
            return float(np.mean(pred == ctx.extra["target_class"]))
        return float(np.mean(predict_labels(model, test.x, self.id) != test.y))
