"""The transparency trade-off: the same attacks against every output mode of one model.

The more a deployment reveals per query (logits, probabilities, rounded scores, the top class's
probability, the label alone) the more useful it is, and the more it leaks. This test deploys
one model in each mode and measures, side by side: the accuracy honest users keep (the top
answer they read), membership leakage (the chosen attack, with the same reference models for
every mode, each answering in that mode) and extraction fidelity at one query budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aisec import progress
from aisec.attacks.extraction.knockoff import (
    extraction_data,
    natural,
    soft_labels,
    substitute_labels,
    train_substitute,
)
from aisec.attacks.inference.membership import (
    membership_data,
    membership_outcome,
    membership_scores,
)
from aisec.base import Measurement, NotApplicable, SecurityTest
from aisec.defences.output_hardening import deploy_mode
from aisec.errors import ConfigError
from aisec.findings import FindingRule
from aisec.params import AnyValue, Interval, ListOf, Options, Param, declare
from aisec.records import Severity
from aisec.records.privacy import ModeRow, OutputModesOutcome
from aisec.registry import register
from aisec.targets.base import Capability, OutputMode, Target
from aisec.targets.views import Classifier, classifier

MODES = [
    "logits",
    "probabilities",
    "rounded-2",
    "rounded-1",
    "top-2",
    "top1_probability",
    "label_only",
]


def _spread(o: OutputModesOutcome) -> float:
    tprs = [r.tpr_at_1pct_fpr for r in o.rows]
    return max(tprs) - min(tprs) if tprs else 0.0


def _least_leaky(o: OutputModesOutcome) -> ModeRow:
    return min(o.rows, key=lambda r: (r.tpr_at_1pct_fpr, r.auc, -r.honest_accuracy))


def _most_leaky(o: OutputModesOutcome) -> ModeRow:
    return max(o.rows, key=lambda r: (r.tpr_at_1pct_fpr, r.auc))


MIA_002: FindingRule[OutputModesOutcome] = FindingRule(
    rule="MIA-002",
    outcome=OutputModesOutcome,
    measure=_spread,
    thresholds={Severity.HIGH: 0.2, Severity.MEDIUM: 0.05, Severity.LOW: 0.01},
    title=lambda o, s: (
        f"what {s.target} reveals per query decides its membership leakage: "
        f"{_most_leaky(o).mode} outputs give TPR {_most_leaky(o).tpr_at_1pct_fpr:.1%} at 1% FPR, "
        f"{_least_leaky(o).mode} {_least_leaky(o).tpr_at_1pct_fpr:.1%} (honest accuracy "
        f"{_most_leaky(o).honest_accuracy:.1%} vs {_least_leaky(o).honest_accuracy:.1%})"
    ),
    evidence=lambda o: {
        "attack": o.attack,
        "budget": o.budget,
        "rows": [
            [r.mode, r.honest_accuracy, r.auc, r.tpr_at_1pct_fpr, r.tpr_at_01pct_fpr, r.fidelity]
            for r in o.rows
        ],
    },
    recommendation=lambda o: (
        f"Deploy with {_least_leaky(o).mode} outputs where the application allows it: it kept "
        f"{_least_leaky(o).honest_accuracy:.1%} accuracy for honest users at the lowest "
        "measured leakage."
    ),
    recommendation_below=(
        "The output mode made no measurable difference at this sample size; more records or "
        "reference models would resolve smaller differences."
    ),
)
"""Rule MIA-002 (docs/findings.md): how much the choice of output mode changes the leakage."""


@register
class OutputModes(SecurityTest):
    """Membership leakage, extraction fidelity and honest accuracy for every output mode.

    References: Carlini et al., S&P 2022; Choquette-Choo et al., ICML 2021 (label-only);
    Tramer et al., USENIX Security 2016 (extraction from confidence scores).
    """

    id = "inference.output-modes"
    name = "Output-mode trade-off"
    family = "inference"
    requires = frozenset({Capability.LABELS})
    threats = ("membership-inference", "model-extraction")
    references = (
        "Carlini et al., S&P 2022, arXiv:2112.03570",
        "Choquette-Choo et al., ICML 2021, arXiv:2007.14321",
        "Tramer et al., USENIX Security 2016, arXiv:1609.02943",
    )
    data_kind = "splits"
    array_inputs = True
    outcome_type = OutputModesOutcome
    rules = (MIA_002,)
    parameters = declare(
        modes=Param(
            MODES,
            ListOf(AnyValue(), max_len=12),
            "Output modes compared (logits, probabilities, top1_probability, label_only, "
            "rounded-K, top-K).",
        ),
        attack=Param(
            "lira",
            Options(("loss", "lira", "rmia")),
            "Membership attack (lira/rmia need a recipe).",
        ),
        references=Param(16, Interval(int, 2, 512), "Reference models (lira, rmia)."),
        budget=Param(500, Interval(int, 0, 10_000_000), "Extraction queries per mode (0: skip)."),
        max_samples=Param(
            1000, Interval(int, 10, 1_000_000), "Most members (and as many non-members) scored."
        ),
        n_augment=Param(16, Interval(int, 1, 256), "Label-only: noisy copies per point."),
    )

    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """Every mode must parse."""
        problems = []
        view = classifier(target, self.id)
        for mode in params["modes"]:
            try:
                deploy_mode(view, str(mode))  # parses and checks the hardening's range
            except ConfigError as exc:  # gather every bad mode
                problems.extend(exc.problems)
        return problems

    def _execute(
        self, target: Target, data: Any, params: dict[str, Any], seed: int
    ) -> Measurement | NotApplicable:
        base = classifier(target, self.id)
        attack = params["attack"]
        if attack != "loss" and Capability.TRAINABLE not in target.capabilities:
            attack = "loss"
        split = membership_data(data, params["max_samples"], seed, f"{self.name} ({self.id})")
        mia = {
            "attack": attack,
            "references": params["references"],
            "online": True,
            "variance": "auto",
            "n_augment": params["n_augment"],
            "noise": 0.05,
        }
        rows = []
        for i, mode in enumerate(params["modes"]):
            progress.note(f"{mode} ({i + 1}/{len(params['modes'])})")
            view = deploy_mode(base, str(mode))
            scores, k = membership_scores(view, view, split, mia, seed)
            m = membership_outcome(attack, view, split, scores, k, n_bootstrap=0, seed=seed)
            rows.append(
                ModeRow(
                    mode=str(mode),
                    honest_accuracy=honest_accuracy(view, split.non_members.x, split.non_members.y),
                    auc=m.auc,
                    tpr_at_1pct_fpr=m.tpr_at_1pct_fpr,
                    tpr_at_01pct_fpr=m.tpr_at_01pct_fpr,
                    fidelity=_fidelity(view, data, params["budget"], seed),
                )
            )
        outcome = OutputModesOutcome(
            attack=attack, budget=params["budget"], n_members=len(split.members), rows=tuple(rows)
        )
        return Measurement(outcome)


def honest_accuracy(view: Classifier, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the top answer an honest user reads from the revealed output."""
    out = np.asarray(view.predict(x))
    labels = out if view.output_mode is OutputMode.LABEL_ONLY else out.argmax(axis=1)
    return float(np.mean(labels == y))


def _fidelity(view: Classifier, data: Any, budget: int, seed: int) -> float | None:
    if budget == 0:
        return None
    pool, held = extraction_data(data, seed, "output-mode trade-off")
    rng = np.random.default_rng(seed)
    x = natural(pool.x, budget, rng, view.spec.bounds)
    soft = soft_labels(view, np.asarray(view.predict(x)))
    widths = (int(np.prod(view.spec.shape)), 256, 128, view.spec.n_classes)
    pred = substitute_labels(train_substitute(widths, x, soft, 60, seed), held.x)
    truth = view.with_output_mode(OutputMode.LABEL_ONLY).predict_labels(held.x)
    return float(np.mean(pred == truth))
