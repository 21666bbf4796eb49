"""``defence.dp-sgd``: train the target's architecture with DP-SGD and measure what it buys.

The same recipe trains two models on the same training split, without and with DP-SGD; the
same membership attack (its reference models trained the same way as the model it attacks)
measures each, and the test accuracy of each gives the cost. The guarantee's epsilon comes from
Opacus' accountant.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aisec import progress
from aisec.attacks.inference.membership import (
    membership_data,
    membership_outcome,
    membership_scores,
)
from aisec.base import Measurement, NotApplicable, SecurityTest
from aisec.data.splits import TEST, TRAIN, Splits
from aisec.defences.dp_sgd import DpSettings, dp_recipe, dp_train
from aisec.findings import FindingRule
from aisec.params import Interval, Options, Param, declare
from aisec.records import Severity
from aisec.records.privacy import DpTrainingOutcome
from aisec.registry import register
from aisec.targets.base import Capability, Target
from aisec.targets.views import classifier, trainable


def _tpr_removed(o: DpTrainingOutcome) -> float:
    return o.tpr_before - o.tpr_after


DPS_001: FindingRule[DpTrainingOutcome] = FindingRule(
    rule="DPS-001",
    outcome=DpTrainingOutcome,
    measure=lambda o: max(0.0, o.accuracy_before - o.accuracy_after),
    thresholds={Severity.HIGH: 0.2, Severity.MEDIUM: 0.05, Severity.LOW: 0.01},
    title=lambda o, s: (
        f"DP-SGD at epsilon {o.epsilon:.2g} (delta {o.delta:g}) costs {s.target} "
        f"{o.accuracy_before - o.accuracy_after:.1%} test accuracy ({o.accuracy_before:.1%} -> "
        f"{o.accuracy_after:.1%}) and moves {o.attack} membership TPR at 1% FPR from "
        f"{o.tpr_before:.1%} to {o.tpr_after:.1%} (AUC {o.auc_before:.3f} -> {o.auc_after:.3f})"
    ),
    evidence=lambda o: {
        "epsilon": o.epsilon,
        "delta": o.delta,
        "noise_multiplier": o.noise_multiplier,
        "accuracy_before": o.accuracy_before,
        "accuracy_after": o.accuracy_after,
        "auc_before": o.auc_before,
        "auc_after": o.auc_after,
        "tpr_before": o.tpr_before,
        "tpr_after": o.tpr_after,
        "tpr_removed": _tpr_removed(o),
    },
    key=lambda o: f"eps:{o.epsilon:.3g}",
    recommendation=(
        "Weigh the accuracy cost against the leakage removed: try a larger epsilon, more "
        "epochs or a larger batch (better privacy-utility at the same epsilon), or output "
        "hardening where the threat is a query-only attacker."
    ),
    recommendation_below=(
        "DP-SGD cost little accuracy at this epsilon: it is a candidate for training on "
        "sensitive records."
    ),
)
"""Rule DPS-001 (docs/findings.md): severity from the accuracy DP-SGD costs."""


@register
class DpTraining(SecurityTest):
    """DP-SGD training through Opacus, against the same training without it.

    References: Abadi et al., "Deep Learning with Differential Privacy", CCS 2016; Yousefpour
    et al., "Opacus", arXiv:2109.12298.
    """

    id = "defence.dp-sgd"
    name = "DP-SGD training"
    family = "defence"
    requires = frozenset({Capability.LABELS, Capability.TRAINABLE})
    threats = ("membership-inference", "attribute-inference")
    references = (
        "Abadi et al., CCS 2016, arXiv:1607.00133",
        "Yousefpour et al., Opacus, arXiv:2109.12298",
    )
    data_kind = "splits"
    required_splits = (TRAIN, TEST)
    array_inputs = True
    outcome_type = DpTrainingOutcome
    rules = (DPS_001,)
    parameters = declare(
        epsilon=Param(8.0, Interval(float, 0.0, 1e6, closed="right"), "Target epsilon."),
        delta=Param(1e-5, Interval(float, 0.0, 1.0, closed="neither"), "Delta of the guarantee."),
        max_grad_norm=Param(
            1.0, Interval(float, 0.0, None, closed="neither"), "Per-sample clipping norm."
        ),
        epochs=Param(30, Interval(int, 1, 10_000), "DP training epochs."),
        lr=Param(1e-2, Interval(float, 0.0, 10.0, closed="right"), "Adam learning rate."),
        batch_size=Param(64, Interval(int, 1, 1_000_000), "Expected batch size."),
        attack=Param("rmia", Options(("loss", "lira", "rmia")), "Membership attack."),
        references=Param(4, Interval(int, 2, 256), "Reference models per measured model."),
        max_samples=Param(
            1000, Interval(int, 10, 1_000_000), "Most members (and as many non-members) scored."
        ),
    )

    def _execute(
        self, target: Target, data: Splits, params: dict[str, Any], seed: int
    ) -> Measurement | NotApplicable:
        view = trainable(target, self.id)
        if view.recipe.module is None:
            return NotApplicable(
                f"DP-SGD trains the architecture itself, and the recipe {view.recipe.name!r} "
                "does not give its module; use a built-in target or a recipe with `module`"
            )
        settings = DpSettings(
            epsilon=params["epsilon"],
            delta=params["delta"],
            max_grad_norm=params["max_grad_norm"],
            epochs=params["epochs"],
            lr=params["lr"],
            batch_size=params["batch_size"],
        )
        train, test = data[TRAIN], data[TEST]
        progress.note("training with DP-SGD")
        private = dp_train(view.recipe, train.x, train.y, seed, settings)
        base = classifier(target, self.id)
        deployed = classifier(private.target, self.id).with_output_mode(base.output_mode)
        deployed = (
            replace(deployed, recipe=dp_recipe(view.recipe, settings))
            if hasattr(deployed, "recipe")
            else deployed
        )
        split = membership_data(data, params["max_samples"], seed, f"{self.name} ({self.id})")
        mia = {
            "attack": params["attack"],
            "references": params["references"],
            "online": True,
            "variance": "auto",
            "n_augment": 16,
            "noise": 0.05,
        }
        measured = []
        for label, model in (("undefended", base), ("DP-SGD", deployed)):
            progress.note(f"membership inference on the {label} model")
            scores, k = membership_scores(model, model, split, mia, seed)
            measured.append(
                membership_outcome(params["attack"], model, split, scores, k, n_bootstrap=0)
            )
        acc = [
            float((classifier(m, self.id).predict_labels(test.x) == test.y).mean())
            for m in (base, deployed)
        ]
        outcome = DpTrainingOutcome(
            epsilon=private.epsilon,
            delta=private.delta,
            noise_multiplier=private.noise_multiplier,
            max_grad_norm=settings.max_grad_norm,
            attack=params["attack"],
            accuracy_before=acc[0],
            accuracy_after=acc[1],
            auc_before=measured[0].auc,
            auc_after=measured[1].auc,
            tpr_before=measured[0].tpr_at_1pct_fpr,
            tpr_after=measured[1].tpr_at_1pct_fpr,
        )
        return Measurement(outcome)
