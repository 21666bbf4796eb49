"""BadNets-style backdoors: triggered, relabelled poisons, with defences and a scan measured.

Reference: Gu, Dolan-Gavitt, Garg, "BadNets: Identifying Vulnerabilities in the Machine
Learning Model Supply Chain", 2017, arXiv:1708.06733 (patch triggers, all-to-one and
all-to-all); Chen et al., "Targeted Backdoor Attacks on Deep Learning Systems Using Data
Poisoning", 2017, arXiv:1712.05526 (blended triggers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aisec import progress
from aisec.attacks.poisoning.base import (
    POI_001,
    PoisonContext,
    Poisoned,
    PoisoningAttack,
    accuracy,
    n_poisons,
    predict_labels,
)
from aisec.attacks.poisoning.triggers import TRIGGER_KINDS, Trigger, make_trigger
from aisec.data.dataset import Dataset
from aisec.params import Boolean, Interval, Options, Param, SubsetOf, declare
from aisec.records.poisoning import DetectionScore, MitigationScore
from aisec.registry import register
from aisec.targets.base import Capability, Target
from aisec.targets.views import Trainable, WhiteBox

DETECTORS = ("activation-clustering", "spectral-signatures")
"""Data-set defences a backdoor test can run on its poisoned training set."""
MITIGATIONS = ("fine-pruning", "retrain-filtered")
"""Mitigations a backdoor test can apply to its poisoned model."""
TRUSTED_CLEAN = 200
"""Clean training samples the defender is assumed to hold (fine-pruning, STRIP)."""


class TriggerAttack(PoisoningAttack):
    """Shared by the backdoors: a trigger, its success measure and the headline extras."""

    parameters = declare(
        trigger=Param("patch", Options(TRIGGER_KINDS), "patch (BadNets) or blend (Chen et al.)."),
        size=Param(2, Interval(int, 1, 64), "Side of the patch trigger, in pixels."),
        alpha=Param(0.2, Interval(float, 0.0, 1.0, closed="right"), "Blend trigger weight."),
        target_class=Param(0, Interval(int, 0, None), "Class triggered inputs are sent to."),
        detect=Param(
            [],
            SubsetOf(DETECTORS),
            "Data-set defences to run on the poisoned training set.",
        ),
        mitigate=Param([], SubsetOf(MITIGATIONS), "Mitigations to apply to the poisoned model."),
        scan=Param(False, Boolean(), "Scan the poisoned model for its backdoor (Neural Cleanse)."),
    )

    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """The target class must be one of the task's classes."""
        from aisec.targets.views import classifier

        k = classifier(target, self.id).spec.n_classes
        if params["target_class"] >= k:
            return [f"`target_class` must be below the {k} classes of the task; got "
                    f"{params['target_class']}"]  # fmt: skip
        return []

    def _trigger(self, train: Dataset, ctx: PoisonContext) -> Trigger:
        p = ctx.params
        return make_trigger(
            p["trigger"],
            tuple(train.x.shape[1:]),
            ctx.bounds,
            size=p["size"],
            alpha=p["alpha"],
            seed=ctx.seed,
        )

    def _goal(self, y: np.ndarray, ctx: PoisonContext) -> np.ndarray:
        """The label a triggered input of true class ``y`` should get."""
        if ctx.extra.get("mode") == "all-to-all":
            return (y + 1) % ctx.n_classes
        return np.full_like(y, ctx.extra["target_class"])

    def _success(self, model: Target, test: Dataset, ctx: PoisonContext) -> float:
        trigger: Trigger = ctx.extra["trigger"]
        goal = self._goal(test.y, ctx)
        eligible = goal != test.y
        pred = predict_labels(model, trigger.apply(test.x[eligible]), self.id)
        return float(np.mean(pred == goal[eligible]))

    def _at_headline(
        self,
        train: Dataset,
        test: Dataset,
        ctx: PoisonContext,
        poisoned: Poisoned,
        model: Target,
        view: Trainable,
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        p = ctx.params
        trigger: Trigger = ctx.extra["trigger"]
        artifacts = {"trigger_mask": trigger.mask, "trigger_pattern": trigger.pattern}
        extras: dict[str, Any] = {}
        is_poison = np.isin(np.arange(len(train)), poisoned.index)
        white = model if isinstance(model, WhiteBox) and Capability.GRADIENTS in (
            model.capabilities
        ) else None  # fmt: skip
        flagged_any = np.zeros(len(train), bool)
        notes = []
        if white is None:
            asked = [*p["detect"], *(["fine-pruning"] if "fine-pruning" in p["mitigate"] else [])]
            asked += ["scan"] if p["scan"] else []
            if asked:
                notes.append(
                    f"{', '.join(asked)} not run: the recipe's models expose no PyTorch layers "
                    "(features, pruning and trigger search need them)"
                )
        if p["detect"] and white is not None:
            features = white.representations(poisoned.x)
            scores = []
            for method in p["detect"]:
                progress.note(method)
                flagged = _detector(method)(features, poisoned.y, seed=ctx.seed)
                flagged_any |= flagged
                from aisec.defences.scores import detection_scores

                precision, recall = detection_scores(flagged, is_poison)
                scores.append(DetectionScore(method, int(flagged.sum()), precision, recall,
                                             float(len(poisoned.index) / len(train))))  # fmt: skip
            extras["detections"] = tuple(scores)
        trusted = _trusted_clean(train, is_poison, ctx.seed)
        acc0 = accuracy(model, test, self.id)
        asr0 = self._success(model, test, ctx)
        mitigations = []
        for method in p["mitigate"]:
            progress.note(method)
            if method == "fine-pruning" and white is not None:
                from aisec.defences.fine_pruning import fine_prune

                fp = fine_prune(white, trusted.x, trusted.y, seed=ctx.seed)
                after: Target = fp.model
                detail = {"pruned_fraction": fp.pruned_fraction, "trusted_samples": len(trusted)}
            elif method == "retrain-filtered":
                keep = ~flagged_any
                after = self._train(view, poisoned.x[keep], poisoned.y[keep], ctx.seed)
                detail = {"removed": int((~keep).sum()),
                          "poisons_left": int((is_poison & keep).sum())}  # fmt: skip
            else:
                continue
            mitigations.append(
                MitigationScore(
                    method,
                    acc0,
                    accuracy(after, test, self.id),
                    asr0,
                    self._success(after, test, ctx),
                    detail,
                )
            )
        if mitigations:
            extras["mitigations"] = tuple(mitigations)
        if notes:
            extras["notes"] = tuple(notes)
        if p["scan"] and white is not None:
            from aisec.forensics.backdoor_scan import scan_model

            with progress.stage("backdoor scan"):
                outcome, scan_arrays = scan_model(
                    white,
                    _clean_test_sample(test, ctx.seed),
                    seed=ctx.seed,
                    true_trigger=trigger,
                    true_target=ctx.extra.get("target_class"),
                )
            extras["scan"] = outcome
            artifacts.update({f"scan_{k}": v for k, v in scan_arrays.items()})
        return extras, artifacts


@register
class Backdoor(TriggerAttack):
    """Poison a fraction of the training set with a trigger and the attacker's label.

    ``all-to-one`` takes the poisons from the other classes and labels them ``target_class``;
    ``all-to-all`` labels a poison of class ``c`` as ``c + 1``. Success is the fraction of
    triggered clean test inputs (of another class than their goal) classified as the goal.
    Options run activation clustering and spectral signatures on the poisoned training set
    (precision and recall against the known poisons), fine-pruning and retraining without
    the flagged samples (clean accuracy and success before and after), and a backdoor scan of
    the poisoned model.
    """

    id = "poisoning.backdoor"
    name = "BadNets backdoor"
    attack = "backdoor"
    threats = ("backdoor", "data-poisoning")
    references = ("Gu et al. 2017, arXiv:1708.06733", "Chen et al. 2017, arXiv:1712.05526")
    rules = (POI_001,)
    parameters = declare(
        mode=Param(
            "all-to-one", Options(("all-to-one", "all-to-all")), "Which labels poisons get."
        ),
    )

    def _setup(self, train: Dataset, test: Dataset, ctx: PoisonContext) -> str | None:
        ctx.extra.update(
            mode=ctx.params["mode"],
            trigger=self._trigger(train, ctx),
            trigger_kind=ctx.params["trigger"],
        )
        if ctx.params["mode"] == "all-to-one":
            ctx.extra["target_class"] = int(ctx.params["target_class"])
        return None

    def _poison(self, train: Dataset, rate: float, ctx: PoisonContext) -> Poisoned:
        rng = np.random.default_rng([ctx.seed, round(rate * 1e6)])
        goal = self._goal(train.y, ctx)
        pool = np.flatnonzero(goal != train.y)
        idx = np.sort(rng.permutation(pool)[: min(len(pool), n_poisons(rate, len(train)))])
        x, y = train.x.copy(), train.y.copy()
        x[idx] = ctx.extra["trigger"].apply(x[idx])
        y[idx] = goal[idx]
        return Poisoned(x, y, idx, len(idx))


def _detector(method: str) -> Any:
    from aisec.defences.activation_clustering import activation_clustering
    from aisec.defences.spectral import spectral_signatures

    if method == "activation-clustering":
        return activation_clustering
    return lambda f, y, seed: spectral_signatures(f, y)


def _trusted_clean(train: Dataset, is_poison: np.ndarray, seed: int) -> Dataset:
    clean = np.flatnonzero(~is_poison)
    idx = np.sort(np.random.default_rng([seed, 7]).permutation(clean)[:TRUSTED_CLEAN])
    return Dataset(train.x[idx], train.y[idx], f"{train.name}[trusted]")


def _clean_test_sample(test: Dataset, seed: int) -> Dataset:
    return test.subset(min(len(test), 300), seed=seed)
