"""``supplychain.data-check``: a third-party training set checked before anyone trains on it.

Duplicates, label noise and the class balance against a trusted reference (the ``reference``
split when the data has one, else the ``test`` split), by :func:`aisec.defences.check_dataset`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from aisec.base import Measurement, SecurityTest
from aisec.data.splits import REFERENCE, TEST, TRAIN, Splits
from aisec.findings import FindingRule
from aisec.params import Interval, Param, declare
from aisec.records import Severity
from aisec.records.poisoning import DataIntegrityOutcome
from aisec.registry import register
from aisec.targets.base import Target

BALANCE_SIGNIFICANCE = 0.01
"""p-value below which a class-balance shift is reported (a 200-sample reference drawn from
the same distribution as digits' training split differed by 7.5% in total variation)."""

_ADVICE = (
    "Trace where the data came from and compare it with a signed copy (aisec manifest); remove "
    "duplicates and relabel or drop the suspect samples before training."
)

DAT_001: FindingRule[DataIntegrityOutcome] = FindingRule(
    rule="DAT-001",
    outcome=DataIntegrityOutcome,
    measure=lambda o: o.label_noise,
    thresholds={Severity.HIGH: 0.1, Severity.MEDIUM: 0.03, Severity.LOW: 0.01},
    title=lambda o, s: (
        f"About {o.label_noise:.1%} of the training labels of {s.target} look wrong "
        f"({len(o.suspect_labels)} suspect samples listed)"
    ),
    evidence=lambda o: {
        "label_noise": o.label_noise,
        "n": o.n,
        "suspect_labels": list(o.suspect_labels[:20]),
    },
    recommendation=_ADVICE,
)
"""Rule DAT-001 (docs/findings.md): estimated share of wrong labels."""

DAT_002: FindingRule[DataIntegrityOutcome] = FindingRule(
    rule="DAT-002",
    outcome=DataIntegrityOutcome,
    measure=lambda o: (
        (o.exact_duplicates + o.near_duplicates + 10 * o.conflicting_duplicates) / max(1, o.n)
    ),
    thresholds={Severity.HIGH: 0.05, Severity.MEDIUM: 0.01, Severity.LOW: 1e-9},
    title=lambda o, s: (
        f"The training set of {s.target} holds {o.exact_duplicates} exact and "
        f"{o.near_duplicates} near duplicates ({o.conflicting_duplicates} with conflicting labels)"
    ),
    evidence=lambda o: {
        "exact_duplicates": o.exact_duplicates,
        "near_duplicates": o.near_duplicates,
        "conflicting_duplicates": o.conflicting_duplicates,
        "n": o.n,
    },
    recommendation=_ADVICE,
)
"""Rule DAT-002 (docs/findings.md): duplicates, conflicting labels weighing ten times."""

DAT_003: FindingRule[DataIntegrityOutcome] = FindingRule(
    rule="DAT-003",
    outcome=DataIntegrityOutcome,
    measure=lambda o: (
        o.balance_shift
        if o.balance_p_value is not None and o.balance_p_value < BALANCE_SIGNIFICANCE
        else None
    ),
    thresholds={Severity.HIGH: 0.2, Severity.MEDIUM: 0.1, Severity.LOW: 0.05},
    title=lambda o, s: (
        f"The class shares of {s.target}'s training set differ from the reference's by "
        f"{o.balance_shift:.1%} (total variation)"
    ),
    evidence=lambda o: {
        "balance_shift": o.balance_shift,
        "p_value": o.balance_p_value,
        "class_counts": dict(o.class_counts),
        "reference_counts": dict(o.reference_counts),
    },
    recommendation=_ADVICE,
)
"""Rule DAT-003 (docs/findings.md): class-balance shift against the reference, when the
chi-square test says it is not sampling noise."""


@register
class DataCheck(SecurityTest):
    """Check the training split: exact and near duplicates, label noise, class-balance shift.

    Reference: Northcutt et al., "Confident Learning", JAIR 2021 (label-noise estimate).
    """

    id = "supplychain.data-check"
    name = "Data-set integrity check"
    family: ClassVar[str] = "supplychain"
    threats = ("data-poisoning", "dataset-tampering")
    references = ("Northcutt et al., JAIR 2021, arXiv:1911.00068",)
    outcome_type = DataIntegrityOutcome
    rules = (DAT_001, DAT_002, DAT_003)
    data_kind = "splits"
    required_splits = (TRAIN,)
    array_inputs = True
    parameters = declare(
        near_threshold=Param(
            0.25,
            Interval(float, 0.0, 1.0, closed="right"),
            "Near-duplicate radius, as a fraction of the median nearest-neighbour distance.",
        ),
    )

    def _execute(
        self, target: Target, data: Splits, params: dict[str, Any], seed: int
    ) -> Measurement:
        from aisec.defences.integrity import check_dataset

        reference = next((data[r] for r in (REFERENCE, TEST) if r in data), None)
        outcome = check_dataset(
            data[TRAIN], reference, near_threshold=params["near_threshold"], seed=seed
        )
        return Measurement(outcome)
