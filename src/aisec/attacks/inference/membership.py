"""Membership inference: was this record in the model's training set?

Four attacks, from the cheapest to the strongest at low false-positive rates:

- ``loss``: the true class's confidence as the score, no reference models (Yeom et al., CSF
  2018); its threshold is swept, so the reported balanced accuracy is the best threshold's;
- ``shadow``: a classifier trained on reference ("shadow") models' answers to tell in from out
  (Shokri et al., S&P 2017), with the class as a feature in place of one model per class;
- ``lira``: the likelihood-ratio attack (Carlini et al., S&P 2022): Gaussians fitted to the
  logit-scaled confidence of the references that did and did not train on each point (online),
  or only of those that did not (offline, one-sided), with per-example or one global variance;
- ``rmia``: the relative membership attack (Zarifzadeh et al., ICML 2024): the point's
  likelihood ratio ``p(x|target) / p(x)`` (``p(x)`` averaged over the references) compared
  pairwise with population points; offline it rescales the out-references' ``p(x)``.

Against a ``label_only`` target every attack reads the share of noisy copies of a point that
the model still classifies correctly (:mod:`aisec.attacks.inference.observe`).

Members are the ``members`` split (or the training split), non-members the ``non_members``
split (or the test split); both are subsampled to the same size, and the members not under test
train every reference model, as they trained the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from aisec import progress
from aisec.attacks.inference.observe import Observer
from aisec.attacks.inference.references import reference_sweep
from aisec.base import Measurement, NotApplicable, SecurityTest
from aisec.data.dataset import Dataset
from aisec.data.splits import MEMBERS, NON_MEMBERS, TEST, TRAIN, Splits
from aisec.defences.output_hardening import HardenedOutputs, deploy_like
from aisec.errors import DataError
from aisec.findings import FindingRule
from aisec.metrics.privacy import log_grid, privacy_figures, roc
from aisec.params import Boolean, Interval, Options, Param, declare
from aisec.records import Severity
from aisec.records.privacy import MembershipOutcome, RocPoint
from aisec.registry import register
from aisec.targets.base import Capability, OutputMode, Target
from aisec.targets.views import Classifier, classifier, trainable

ATTACKS = ("loss", "shadow", "lira", "rmia")
NEEDS_REFERENCES = frozenset({"shadow", "lira", "rmia"})
RMIA_OFFLINE_A = 0.33
"""RMIA's offline scaling ``a`` (``p(x) = ((1 + a) p_out(x) + 1 - a) / 2``; the paper's value)."""


@dataclass(frozen=True)
class MembershipData:
    """Members and non-members under test, and the other known members."""

    members: Dataset
    non_members: Dataset
    aux: Dataset | None

    @property
    def pool_x(self) -> np.ndarray:
        """Members first, then non-members."""
        return np.concatenate([self.members.x, self.non_members.x])

    @property
    def pool_y(self) -> np.ndarray:
        """Their labels."""
        return np.concatenate([self.members.y, self.non_members.y])


def member_parts(data: Splits, what: str) -> tuple[Dataset, Dataset]:
    """Members (the ``members`` split, else ``train``) and non-members (``non_members``, else
    ``test``), or a :class:`DataError` naming what is missing."""
    members, non_members = data.first(MEMBERS, TRAIN), data.first(NON_MEMBERS, TEST)
    if members is None or non_members is None:
        raise DataError(
            f"{what} needs members (a `members` or `train` split) and non-members (a "
            f"`non_members` or `test` split); {data.name} has {', '.join(data.parts)}"
        )
    return members, non_members


def membership_data(data: Splits, max_samples: int, seed: int, what: str) -> MembershipData:
    """Pick balanced members and non-members from the splits; check they do not overlap."""
    members, non_members = member_parts(data, what)
    check_disjoint(members, non_members)
    n = min(len(members), len(non_members), max_samples)
    rng = np.random.default_rng(seed)
    pick_m = np.sort(rng.permutation(len(members))[:n])
    pick_n = np.sort(rng.permutation(len(non_members))[:n])
    rest = np.setdiff1d(np.arange(len(members)), pick_m)
    aux = members.take(rest) if len(rest) else None
    return MembershipData(members.take(pick_m), non_members.take(pick_n), aux)


def check_disjoint(members: Dataset, non_members: Dataset) -> None:
    """Raise :class:`DataError` when a record is both a member and a non-member."""
    if members.x.shape[1:] != non_members.x.shape[1:]:
        raise DataError(
            f"members {members.name!r} have samples of shape {members.x.shape[1:]} but "
            f"non-members {non_members.name!r} {non_members.x.shape[1:]}; both must come from "
            "the same input space"
        )
    seen = {row.tobytes() for row in np.ascontiguousarray(members.x).reshape(len(members), -1)}
    flat = np.ascontiguousarray(non_members.x).reshape(len(non_members), -1)
    both = [i for i, row in enumerate(flat) if row.tobytes() in seen]
    if both:
        raise DataError(
            f"{len(both)} non-member record(s) of {non_members.name!r} also appear among the "
            f"members (first at index {both[0]}); membership needs disjoint sets, so remove them "
            "from one side"
        )


def low_fpr_advantage(o: MembershipOutcome) -> float:
    """What the data support with 95% confidence: TPR at 1% FPR (lower bound) above chance."""
    return max(0.0, o.tpr_at_1pct_fpr_ci[0] - 0.01)


MIA_001: FindingRule[MembershipOutcome] = FindingRule(
    rule="MIA-001",
    outcome=MembershipOutcome,
    measure=low_fpr_advantage,
    thresholds={
        Severity.CRITICAL: 0.5,
        Severity.HIGH: 0.2,
        Severity.MEDIUM: 0.05,
        Severity.LOW: 0.01,
    },
    title=lambda o, s: (
        f"{o.attack} membership inference finds {o.tpr_at_1pct_fpr:.1%} of {s.target}'s "
        f"training records at 1% false positives (AUC {o.auc:.3f}, {o.output_mode} outputs)"
    ),
    evidence=lambda o: {
        "attack": o.attack,
        "output_mode": o.output_mode,
        "auc": o.auc,
        "auc_ci": list(o.auc_ci),
        "tpr_at_1pct_fpr": o.tpr_at_1pct_fpr,
        "tpr_at_1pct_fpr_ci": list(o.tpr_at_1pct_fpr_ci),
        "tpr_at_01pct_fpr": o.tpr_at_01pct_fpr,
        "balanced_accuracy": o.balanced_accuracy,
        "n_members": o.n_members,
        "n_reference": o.n_reference,
        "train_accuracy": o.train_accuracy,
        "test_accuracy": o.test_accuracy,
    },
    key=lambda o: f"{o.attack}:{o.output_mode}",
    recommendation=(
        "Reduce what the model memorises (regularisation, early stopping, more data), train "
        "with differential privacy (DP-SGD) where records are sensitive, and reveal less per "
        "query (labels only or rounded scores); re-measure with LiRA or RMIA at low FPR."
    ),
    recommendation_below=(
        "No membership leakage above chance at 1% FPR was supported by the data; re-assess "
        "with more reference models and more records after retraining."
    ),
)
"""Rule MIA-001 (docs/findings.md): severity from TPR at 1% FPR (95% lower bound) above 1%."""


@register
class MembershipInference(SecurityTest):
    """Membership inference by loss threshold, shadow models, LiRA or RMIA.

    References: Yeom et al., CSF 2018; Shokri et al., S&P 2017; Carlini et al., "Membership
    Inference Attacks From First Principles", S&P 2022; Zarifzadeh et al., "Low-Cost
    High-Power Membership Inference Attacks", ICML 2024; Choquette-Choo et al., "Label-Only
    Membership Inference Attacks", ICML 2021.
    """

    id = "inference.membership"
    name = "Membership inference"
    family = "inference"
    requires = frozenset({Capability.LABELS})
    threats = ("membership-inference",)
    references = (
        "Yeom et al., CSF 2018, arXiv:1709.01604",
        "Shokri et al., S&P 2017, arXiv:1610.05820",
        "Carlini et al., S&P 2022, arXiv:2112.03570",
        "Zarifzadeh et al., ICML 2024, arXiv:2312.03262",
        "Choquette-Choo et al., ICML 2021, arXiv:2007.14321",
    )
    data_kind = "splits"
    array_inputs = True
    outcome_type = MembershipOutcome
    parameters = declare(
        attack=Param("lira", Options(ATTACKS), "Attack: loss, shadow, lira or rmia."),
        references=Param(
            16, Interval(int, 2, 512), "Reference models trained through the target's recipe."
        ),
        online=Param(
            True, Boolean(), "LiRA/RMIA: use references trained with the point too (online)."
        ),
        variance=Param(
            "auto",
            Options(("auto", "per-example", "fixed")),
            "LiRA: per-example or one global variance (auto: per-example from 64 references).",
        ),
        max_samples=Param(
            2000, Interval(int, 10, 1_000_000), "Most members (and as many non-members) scored."
        ),
        n_augment=Param(16, Interval(int, 1, 256), "Label-only: noisy copies per point."),
        noise=Param(
            0.05,
            Interval(float, 0.0, 1.0, closed="right"),
            "Label-only: noise of the copies, relative to the input range.",
        ),
        bootstrap=Param(200, Interval(int, 0, 10_000), "Bootstrap resamples of the intervals."),
    )
    rules = (MIA_001,)

    def _execute(
        self, target: Target, data: Splits, params: dict[str, Any], seed: int
    ) -> Measurement | NotApplicable:
        view = classifier(target, self.id)
        split = membership_data(data, params["max_samples"], seed, f"{self.name} ({self.id})")
        attack = params["attack"]
        if attack in NEEDS_REFERENCES and Capability.TRAINABLE not in target.capabilities:
            return NotApplicable(
                f"the {attack} attack trains reference models through the target's training "
                "recipe, and this target has none; give it a `recipe` (or use attack: loss)"
            )
        scores, k = membership_scores(view, target, split, params, seed)
        n = len(split.members)
        outcome = membership_outcome(
            attack,
            view,
            split,
            scores,
            k,
            variant=_variant(params, k),
            n_bootstrap=params["bootstrap"],
            seed=seed,
        )
        member = np.r_[np.ones(n, dtype=bool), np.zeros(len(split.non_members), dtype=bool)]
        return Measurement(outcome, per_sample={"score": scores, "member": member})


def membership_scores(
    view: Classifier, target: Target, split: MembershipData, params: dict[str, Any], seed: int
) -> tuple[np.ndarray, int]:
    """Scores of every pool point (members first) and the references trained."""
    obs = Observer(params["n_augment"], params["noise"], seed)
    x, y = split.pool_x, split.pool_y
    progress.note("querying the target")
    phi = obs.confidence(view, x, y)
    attack = params["attack"]
    if attack == "loss":
        return phi, 0
    k = params["references"]
    aux = split.aux
    sweep = reference_sweep(
        trainable(target, "membership inference"),
        x,
        y,
        None if aux is None else aux.x,
        None if aux is None else aux.y,
        k,
        seed,
    )
    progress.note("querying the reference models")
    ref_phi = np.stack([obs.confidence(deploy_like(view, m), x, y) for m in sweep.models])
    if attack == "lira":
        return lira_scores(phi, ref_phi, sweep.masks, params["online"], _variance(params, k)), k
    if attack == "rmia":
        return rmia_scores(phi, ref_phi, sweep.masks, params["online"]), k
    return shadow_scores(phi, ref_phi, sweep.masks, y, seed), k


def lira_scores(
    phi: np.ndarray, ref_phi: np.ndarray, masks: np.ndarray, online: bool, variance: str
) -> np.ndarray:
    """LiRA: Gaussian log-likelihood ratio (online) or one-sided out-Gaussian score (offline)."""
    inn, out = np.where(masks, ref_phi, np.nan), np.where(masks, np.nan, ref_phi)
    mu_out = np.nanmean(out, axis=0)
    sd_out = _spread(out, mu_out, variance)
    if not online:
        return (phi - mu_out) / sd_out
    mu_in = np.nanmean(inn, axis=0)
    sd_in = _spread(inn, mu_in, variance)
    return _log_normal(phi, mu_in, sd_in) - _log_normal(phi, mu_out, sd_out)


def _spread(obs: np.ndarray, mu: np.ndarray, variance: str) -> np.ndarray:
    if variance == "fixed":
        return np.full_like(mu, max(float(np.nanstd(obs - mu[None])), 1e-6))
    return np.maximum(np.nanstd(obs, axis=0), 1e-6)


def _log_normal(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return -0.5 * ((x - mu) / sd) ** 2 - np.log(sd)


def rmia_scores(
    phi: np.ndarray, ref_phi: np.ndarray, masks: np.ndarray, online: bool, gamma: float = 1.0
) -> np.ndarray:
    """RMIA: share of population points whose likelihood ratio the point's beats by ``gamma``.

    The population is the pool itself; for a fixed population the score is a monotone function
    of the point's own ratio, so the ROC is that of the ratio.
    """
    p_target = _sigmoid(phi)
    p_refs = _sigmoid(ref_phi)
    if online:
        p_x = p_refs.mean(axis=0)
    else:
        p_out = np.nanmean(np.where(masks, np.nan, p_refs), axis=0)
        p_x = 0.5 * ((1 + RMIA_OFFLINE_A) * p_out + (1 - RMIA_OFFLINE_A))
    ratio = p_target / np.maximum(p_x, 1e-30)
    population = np.sort(ratio)
    return np.searchsorted(population, ratio / gamma, side="right") / len(population)


def shadow_scores(
    phi: np.ndarray, ref_phi: np.ndarray, masks: np.ndarray, y: np.ndarray, seed: int
) -> np.ndarray:
    """Shokri et al.: a classifier over (confidence, class) learnt from the references' in/out."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    k = len(ref_phi)
    feats = np.stack([ref_phi.ravel(), np.tile(y, k)], axis=1)
    clf = HistGradientBoostingClassifier(
        max_iter=100, categorical_features=[1], random_state=seed
    ).fit(feats, masks.ravel().astype(int))
    return clf.predict_proba(np.stack([phi, y], axis=1))[:, 1]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))


def _variance(params: dict[str, Any], k: int) -> str:
    v = str(params["variance"])
    return ("per-example" if k >= 64 else "fixed") if v == "auto" else v


def _variant(params: dict[str, Any], k: int) -> str:
    attack = params["attack"]
    if attack == "lira":
        side = "online" if params["online"] else "offline"
        return f"{side}, {_variance(params, k)} variance"
    if attack == "rmia":
        return "online" if params["online"] else f"offline (a={RMIA_OFFLINE_A})"
    return ""


def membership_outcome(
    attack: str,
    view: Classifier,
    split: MembershipData,
    scores: np.ndarray,
    k: int,
    *,
    variant: str = "",
    n_bootstrap: int = 200,
    seed: int = 0,
) -> MembershipOutcome:
    """The outcome record of membership scores (members first in ``scores``)."""
    n = len(split.members)
    figs = privacy_figures(scores[:n], scores[n:], n_bootstrap=n_bootstrap, seed=seed)
    fpr, tpr = log_grid(roc(scores[:n], scores[n:]))
    labels = view.with_output_mode(OutputMode.LABEL_ONLY)
    return MembershipOutcome(
        attack=attack,
        output_mode=_mode_name(view),
        n_members=n,
        n_non_members=len(split.non_members),
        auc=figs.auc,
        balanced_accuracy=figs.balanced_accuracy,
        tpr_at_1pct_fpr=figs.tpr_at_1pct_fpr,
        tpr_at_01pct_fpr=figs.tpr_at_01pct_fpr,
        auc_ci=figs.auc_ci,
        tpr_at_1pct_fpr_ci=figs.tpr_at_1pct_fpr_ci,
        tpr_at_01pct_fpr_ci=figs.tpr_at_01pct_fpr_ci,
        train_accuracy=float(np.mean(labels.predict_labels(split.members.x) == split.members.y)),
        test_accuracy=float(
            np.mean(labels.predict_labels(split.non_members.x) == split.non_members.y)
        ),
        n_reference=k,
        variant=variant,
        roc=tuple(RocPoint(float(f), float(t)) for f, t in zip(fpr, tpr, strict=True)),
    )


def _mode_name(view: Classifier) -> str:
    if not isinstance(view, HardenedOutputs):
        return view.output_mode.value
    parts = [f"top-{view.top_k}"] if view.top_k is not None else []
    parts += [f"rounded-{view.decimals}"] if view.decimals is not None else []
    return "+".join(parts) or view.output_mode.value
