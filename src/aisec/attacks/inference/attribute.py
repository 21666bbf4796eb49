"""Attribute inference: recover a sensitive feature of a record from the model's answers.

The attacker knows a record's other features and its label, and sees the model's answer on the
record (a deployed model scoring a person, say); the sensitive feature is discretised into
quantile bins. Two attacks, each against a baseline that has everything but the model:

- ``black-box``: a classifier over (other features, label, model answer) trained on the
  attacker's auxiliary records (Fredrikson et al. 2014 in the form of ART's black-box attack);
  the baseline is the same classifier given the model's answer on the record with the
  sensitive feature blanked to a constant, so that whatever the model computes from the other
  features is available to both and only the answer's dependence on the true value counts;
- ``inversion``: query the model with every candidate value of the feature and pick the value
  under which the model gives the true label the highest probability, weighted by the
  model-free posterior of the value (Fredrikson et al., USENIX Security 2014); the baseline is
  that posterior alone.

Only the leakage the model adds is reported (attack minus baseline), on members (training
records, what memorisation leaks) and on non-members (what the model reveals about the
population, which is not a privacy breach of the individual).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aisec.attacks.inference.membership import member_parts
from aisec.base import Measurement, NotApplicable, SecurityTest
from aisec.data.dataset import Dataset
from aisec.data.splits import Splits
from aisec.errors import ParameterError
from aisec.findings import FindingRule
from aisec.params import Interval, OptionalOf, Options, Param, declare
from aisec.records import Severity
from aisec.records.privacy import AttributeOutcome
from aisec.registry import register
from aisec.targets.base import Capability, OutputMode, Target
from aisec.targets.views import Classifier, classifier


def _leakage(o: AttributeOutcome) -> float:
    """Leakage on members the data support with 95% confidence (interval's lower bound)."""
    return max(0.0, o.leakage_ci[0])


ATT_001: FindingRule[AttributeOutcome] = FindingRule(
    rule="ATT-001",
    outcome=AttributeOutcome,
    measure=_leakage,
    thresholds={
        Severity.CRITICAL: 0.4,
        Severity.HIGH: 0.2,
        Severity.MEDIUM: 0.05,
        Severity.LOW: 0.01,
    },
    title=lambda o, s: (
        f"{s.target}'s answers raise {o.method} inference of {o.feature} on its training "
        f"records from {o.baseline_accuracy:.1%} to {o.attack_accuracy:.1%} "
        f"(non-members: {o.baseline_accuracy_non_members:.1%} -> "
        f"{o.attack_accuracy_non_members:.1%})"
    ),
    evidence=lambda o: {
        "feature": o.feature,
        "bins": o.bins,
        "method": o.method,
        "attack_accuracy": o.attack_accuracy,
        "baseline_accuracy": o.baseline_accuracy,
        "leakage": o.leakage,
        "leakage_ci": list(o.leakage_ci),
        "leakage_non_members": o.leakage_non_members,
        "chance": o.chance,
    },
    key=lambda o: f"{o.method}:{o.feature}",
    recommendation=(
        "Reveal less per query (labels or rounded scores), train with differential privacy "
        "where the feature is sensitive, or drop the feature from the model's inputs if it is "
        "not needed for the task."
    ),
    recommendation_below=(
        "The model's answers added no significant inference of this feature beyond what the "
        "other features reveal; re-assess for each sensitive feature."
    ),
)
"""Rule ATT-001 (docs/findings.md): severity from the member leakage's 95% lower bound."""


@register
class AttributeInference(SecurityTest):
    """Attribute inference of a sensitive tabular feature, against a model-free baseline.

    References: Fredrikson et al., "Model Inversion Attacks that Exploit Confidence
    Information", CCS 2015; Fredrikson et al., USENIX Security 2014; Mehnaz et al., USENIX
    Security 2022 (baselines for attribute inference).
    """

    id = "inference.attribute"
    name = "Attribute inference"
    family = "inference"
    requires = frozenset({Capability.LABELS})
    threats = ("attribute-inference", "model-inversion")
    references = (
        "Fredrikson et al., CCS 2015, doi:10.1145/2810103.2813677",
        "Fredrikson et al., USENIX Security 2014",
        "Mehnaz et al., USENIX Security 2022, arXiv:2201.09370",
    )
    data_kind = "splits"
    array_inputs = True
    outcome_type = AttributeOutcome
    rules = (ATT_001,)
    parameters = declare(
        feature=Param(
            None,
            OptionalOf(Interval(int, 0, 1_000_000)),
            "Index of the sensitive feature (default: the one most informative of the label).",
        ),
        bins=Param(
            4, Interval(int, 2, 50), "Values (quantile bins) the feature is inferred among."
        ),
        method=Param("black-box", Options(("black-box", "inversion")), "Attack method."),
        bootstrap=Param(200, Interval(int, 0, 10_000), "Bootstrap resamples of the interval."),
    )

    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """The feature index must exist in a flat (tabular) input."""
        spec = classifier(target, self.id).spec
        if len(spec.shape) != 1:
            return [f"attribute inference needs tabular inputs (one axis); got shape {spec.shape}"]
        f = params["feature"]
        if f is not None and f >= spec.shape[0]:
            return [f"`feature` must be an index below {spec.shape[0]}; got {f}"]
        return []

    def _execute(
        self, target: Target, data: Splits, params: dict[str, Any], seed: int
    ) -> Measurement | NotApplicable:
        view = classifier(target, self.id)
        members, pool = member_parts(data, f"{self.name} ({self.id})")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(pool))
        half = len(pool) // 2
        if half < 10:
            return NotApplicable(
                f"attribute inference needs at least 20 non-member records (half train the "
                f"attacker, half are attacked); got {len(pool)}"
            )
        aux, held = pool.take(order[:half]), pool.take(order[half:])
        feature = params["feature"]
        if feature is None:
            feature = most_informative(aux)
        edges = _edges(aux.x[:, feature], params["bins"])
        names = list(data.meta.get("features") or members.meta.get("features") or [])
        label = names[feature] if feature < len(names) else f"feature {feature}"
        attack = _black_box if params["method"] == "black-box" else _inversion
        acc_m, base_m, hit_m, bhit_m = attack(view, aux, members, feature, edges, seed)
        acc_n, base_n, _, _ = attack(view, aux, held, feature, edges, seed)
        lo, hi = _paired_ci(hit_m, bhit_m, params["bootstrap"], seed)
        codes = np.digitize(aux.x[:, feature], edges)
        chance = float(np.bincount(codes).max() / len(codes))
        outcome = AttributeOutcome(
            feature=label,
            bins=len(edges) + 1,
            method=params["method"],
            n_members=len(members),
            n_non_members=len(held),
            attack_accuracy=acc_m,
            baseline_accuracy=base_m,
            leakage=acc_m - base_m,
            leakage_ci=(lo, hi),
            attack_accuracy_non_members=acc_n,
            baseline_accuracy_non_members=base_n,
            chance=chance,
        )
        return Measurement(outcome, per_sample={"inferred": hit_m, "baseline": bhit_m})


def most_informative(data: Dataset) -> int:
    """The feature with the highest mutual information with the label (seeded estimate)."""
    from sklearn.feature_selection import mutual_info_classif

    return int(np.argmax(mutual_info_classif(data.x, data.y, random_state=0)))


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    if len(edges) == 0:
        raise ParameterError(
            "inference.attribute", ["the sensitive feature is constant; choose another `feature`"]
        )
    return edges


def _answers(view: Classifier, x: np.ndarray) -> np.ndarray:
    """The model's answer as features: revealed scores, or the label one-hot."""
    out = np.asarray(view.predict(x))
    if view.output_mode is OutputMode.LABEL_ONLY:
        return np.eye(view.spec.n_classes)[out.astype(int)]
    return out.astype(np.float64)


def _features(view: Classifier, d: Dataset, feature: int, with_model: bool) -> np.ndarray:
    """Other features, label, and the model's answer: on the record itself (``with_model``) or
    on the record with the sensitive feature blanked to a constant (the control)."""
    others = np.delete(d.x, feature, axis=1)
    x = d.x
    if not with_model:
        x = d.x.copy()
        x[:, feature] = float(np.median(d.x[:, feature]))
    return np.concatenate([others, np.eye(view.spec.n_classes)[d.y], _answers(view, x)], axis=1)


def _baseline(
    view: Classifier, aux: Dataset, victims: Dataset, feature: int, edges: np.ndarray, seed: int
) -> np.ndarray:
    """Per victim, the model-free posterior over the bins (other features and label)."""
    return _forest(view, aux, victims, feature, edges, seed, with_model=False)


def _forest(
    view: Classifier,
    aux: Dataset,
    victims: Dataset,
    feature: int,
    edges: np.ndarray,
    seed: int,
    *,
    with_model: bool,
) -> np.ndarray:
    from sklearn.ensemble import RandomForestClassifier

    truth_aux = np.digitize(aux.x[:, feature], edges)
    clf = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    clf.fit(_features(view, aux, feature, with_model), truth_aux)
    proba = np.zeros((len(victims), len(edges) + 1))
    proba[:, clf.classes_] = clf.predict_proba(_features(view, victims, feature, with_model))
    return proba


def _black_box(
    view: Classifier, aux: Dataset, victims: Dataset, feature: int, edges: np.ndarray, seed: int
) -> tuple[float, float, np.ndarray, np.ndarray]:
    truth = np.digitize(victims.x[:, feature], edges)
    with_model = _forest(view, aux, victims, feature, edges, seed, with_model=True)
    hit = with_model.argmax(axis=1) == truth
    base = _baseline(view, aux, victims, feature, edges, seed).argmax(axis=1) == truth
    return float(hit.mean()), float(base.mean()), hit, base


def _inversion(
    view: Classifier, aux: Dataset, victims: Dataset, feature: int, edges: np.ndarray, seed: int
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Candidate values weighted by the model-free posterior, so the model's share is isolated."""
    truth_aux = np.digitize(aux.x[:, feature], edges)
    truth = np.digitize(victims.x[:, feature], edges)
    n_bins = len(edges) + 1
    values = np.array(
        [
            np.median(aux.x[truth_aux == b, feature]) if (truth_aux == b).any() else 0.0
            for b in range(n_bins)
        ]
    )
    prior = _baseline(view, aux, victims, feature, edges, seed)
    probs = view.with_output_mode(OutputMode.PROBABILITIES) if _has_scores(view) else view
    scores = np.log(np.clip(prior, 1e-6, None))
    for b, v in enumerate(values):
        x = victims.x.copy()
        x[:, feature] = v
        out = np.asarray(probs.predict(x))
        # labels only: 1 when the candidate keeps the true label
        like = (
            (out == victims.y).astype(np.float64)
            if out.ndim == 1
            else out[np.arange(len(x)), victims.y]
        )
        scores[:, b] += np.log(np.clip(like, 1e-6, None))
    hit = scores.argmax(axis=1) == truth
    base = prior.argmax(axis=1) == truth
    return float(hit.mean()), float(base.mean()), hit, base


def _has_scores(view: Classifier) -> bool:
    return Capability.SCORES in view.capabilities


def _paired_ci(a: np.ndarray, b: np.ndarray, n: int, seed: int) -> tuple[float, float]:
    diff = a.astype(np.float64) - b.astype(np.float64)
    if n == 0 or len(diff) == 0:
        m = float(diff.mean()) if len(diff) else 0.0
        return m, m
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), (n, len(diff)))
    means = diff[idx].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)
