"""Sanity checks that flag evaluations which look like gradient masking.

A robustness figure is only as good as the attack behind it. These checks, after Carlini et al.
"On Evaluating Adversarial Robustness" (arXiv:1902.06705, the checklist of section 5) and the
automatic warnings of AutoAttack (Croce & Hein, ICML 2020, ``autoattack/checks.py``), look for
the symptoms of obfuscated gradients (Athalye et al., ICML 2018): an unbounded attack that does
not reach ~100%, more effort that does not help, a black-box attack that beats white-box ones,
robust accuracy that rises with the budget, gradients that are zero or NaN, and answers that
change between two queries of the same input (a randomized defence, whose gradients are
stochastic).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from aisec import progress
from aisec.attacks.evasion.apgd import APGDCE, APGDT
from aisec.attacks.evasion.losses import ce_loss, min_classes
from aisec.attacks.evasion.pgd import PGD
from aisec.attacks.evasion.square import Square
from aisec.base import Measurement, SecurityTest
from aisec.findings import FindingRule
from aisec.params import Interval, Options, Param, declare
from aisec.records import Result, Severity
from aisec.records.evasion import SanityCheck, SanityOutcome
from aisec.registry import register
from aisec.targets.base import Capability
from aisec.targets.views import Differentiable, differentiable

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.targets.base import Target


@dataclass(frozen=True)
class Check:
    """One sanity check: its rule id and what it verifies."""

    rule: str
    key: str
    title: str


CHECKS = (
    Check("SAN-001", "unbounded", "an unbounded attack does not reach ~100% success"),
    Check("SAN-002", "more_effort", "more iterations or restarts reduce the attack's success"),
    Check("SAN-003", "black_vs_white", "a black-box attack beats the white-box attacks"),
    Check("SAN-004", "monotone_eps", "robust accuracy rises with a larger budget"),
    Check("SAN-005", "gradients", "input gradients are zero or NaN for most inputs"),
    Check("SAN-006", "randomized", "the model answers the same input differently"),
)

_MASKING_ADVICE = (
    "Do not trust gradient-based robustness figures for this model: evaluate with adaptive "
    "attacks (BPDA for non-differentiable preprocessing, EOT for randomness, the scale-invariant "
    "DLR loss), black-box attacks and the evasion.ensemble, and remove the masking component if "
    "it is not a real defence."
)


def _failed(rule: str) -> Any:
    def pick(o: SanityOutcome) -> list[tuple[SanityOutcome, SanityCheck]]:
        return [(o, c) for c in o.checks if c.rule == rule and not c.passed]

    return pick


def _sanity_rule(check: Check) -> FindingRule[SanityOutcome]:
    return FindingRule(
        rule=check.rule,
        outcome=SanityOutcome,
        each=_failed(check.rule),
        measure=lambda item: 1.0,
        thresholds={Severity.HIGH: 1.0},
        title=lambda item, s: f"Results look like gradient masking: {item[1].title}",
        evidence=lambda item: dict(item[1].evidence),
        key=lambda item: f"{item[0].norm}:{item[0].eps:g}",
        recommendation=_MASKING_ADVICE,
        recommendation_below=_MASKING_ADVICE,
    )


SANITY_RULES = tuple(_sanity_rule(c) for c in CHECKS)
"""Rules SAN-001..SAN-005 (docs/findings.md): one high finding per failed check."""


@register
class GradientMaskingSanity(SecurityTest):
    """Five checks against gradient masking; each failed check is a high-severity finding.

    SAN-001: PGD with an unbounded budget (the whole input range) and no random start must break
    at least ``unbounded_success`` of the correctly classified points. SAN-002: PGD with
    ``5 x steps`` and 2 restarts must not succeed less often than PGD with ``steps`` (beyond
    ``tolerance``). SAN-003: Square with ``square_queries`` must not beat the per-point best of
    PGD, APGD-CE and APGD-T (3 target classes) by more than ``tolerance``. SAN-004: robust
    accuracy from independent PGD runs at ``eps/2``, ``eps`` and ``2 eps`` must not rise by
    more than ``tolerance``. SAN-005: the cross-entropy input gradient must be finite and
    non-zero for more than ``1 - zero_gradient_fraction`` of the inputs. SAN-006: two queries of
    the same inputs must return the same logits (as AutoAttack checks before its standard
    version; a randomized model needs EoT). Checks run on a seeded subset of ``limit`` points.

    References: Carlini et al., "On Evaluating Adversarial Robustness", arXiv:1902.06705;
    Athalye, Carlini & Wagner, "Obfuscated Gradients Give a False Sense of Security",
    ICML 2018; Croce & Hein, ICML 2020 (AutoAttack's automatic checks).
    """

    id = "evasion.sanity"
    name = "Gradient-masking sanity checks"
    family = "evasion"
    requires = frozenset({Capability.GRADIENTS})
    threats: ClassVar[tuple[str, ...]] = ("evasion-digital",)
    references = (
        "Carlini et al., arXiv:1902.06705 (evaluation checklist)",
        "Athalye, Carlini & Wagner, ICML 2018, arXiv:1802.00420",
        "Croce & Hein, ICML 2020, arXiv:2003.01690 (automatic checks)",
    )
    rules = SANITY_RULES
    outcome_type = SanityOutcome
    parameters = declare(
        eps=Param(0.1, Interval(float, 0, None, closed="neither"), "Budget of the checks."),
        norm=Param("linf", Options(("linf", "l2")), "Norm of the checks."),
        steps=Param(20, Interval(int, 1, 10_000), "PGD steps of the base run."),
        square_queries=Param(1000, Interval(int, 1, 1_000_000), "Queries of the Square run."),
        limit=Param(200, Interval(int, 1, 1_000_000), "Points the checks run on."),
        tolerance=Param(0.05, Interval(float, 0, 1), "Slack of every comparison."),
        unbounded_success=Param(
            0.95, Interval(float, 0, 1), "Success an unbounded attack must reach."
        ),
        zero_gradient_fraction=Param(
            0.5, Interval(float, 0, 1), "Largest share of zero or NaN gradients allowed."
        ),
    )

    def _execute(
        self, target: Target, data: Dataset, params: dict[str, Any], seed: int
    ) -> Measurement:
        model = differentiable(target, self.id)
        data = data.subset(params["limit"], seed=seed)
        eps, norm, steps = params["eps"], params["norm"], params["steps"]
        lo, hi = model.spec.bounds
        dim = int(np.prod(model.spec.shape))
        big = (hi - lo) * (1.0 if norm == "linf" else float(np.sqrt(dim)))

        def success(res: Result) -> tuple[float, np.ndarray]:
            ok = res.per_sample["clean_correct"]
            s = res.per_sample["success"] & ok
            return (float(s.sum() / ok.sum()) if ok.any() else 0.0), s

        # plain cross-entropy PGD: the checks probe the standard gradient evaluation, which a
        # saturating model masks even where PGD's automatic margin loss would get through
        common = {"norm": norm, "keep_adversarials": False}
        ce = {**common, "loss": "ce"}
        progress.note("unbounded PGD")
        unb = PGD(eps=big, steps=steps, random_start=False, **ce).run(target, data, seed=seed)
        base = PGD(eps=eps, steps=steps, **ce).run(target, data, seed=seed)
        progress.note("PGD with more effort")
        more = PGD(eps=eps, steps=5 * steps, restarts=2, **ce).run(target, data, seed=seed)
        progress.note("APGD-CE")
        apgd = APGDCE(eps=eps, steps=max(steps, 100), **common).run(target, data, seed=seed)
        broken = success(base)[1] | success(apgd)[1]
        if model.spec.n_classes >= min_classes("dlr", targeted=True):
            apgd_t = APGDT(eps=eps, steps=max(steps, 100), n_target_classes=3, **common)
            broken |= success(apgd_t.run(target, data, seed=seed))[1]
        progress.note("Square")
        square = Square(eps=eps, queries=params["square_queries"], **common).run(
            target, data, seed=seed
        )
        ok = base.per_sample["clean_correct"]
        white = broken.sum() / ok.sum() if ok.any() else 0.0
        curve = []
        progress.note("budget curve")
        for e in (eps / 2, eps, 2 * eps):
            res = base if e == eps else PGD(eps=e, steps=steps, **ce).run(target, data, seed=seed)
            curve.append({"eps": e, "robust_accuracy": float(res.metrics["robust_accuracy"])})
        bad = zero_or_nan_gradients(model, data)
        figures = Figures(
            randomized_fraction=randomized_fraction(model, data),
            unbounded_eps=big,
            unbounded_success_rate=success(unb)[0],
            success_rate=success(base)[0],
            more_effort_success_rate=success(more)[0],
            white_box_success_rate=float(white),
            black_box_success_rate=success(square)[0],
            curve=curve,
            zero_or_nan_fraction=float(bad.mean()) if len(bad) else 0.0,
        )
        checks = judge(figures, params)
        outcome = SanityOutcome(
            n=len(data),
            eps=eps,
            norm=norm,
            checks=tuple(SanityCheck(**c) for c in checks),
            failed=tuple(c["rule"] for c in checks if not c["passed"]),
        )
        return Measurement(outcome, {"zero_or_nan_gradient": bad})


@dataclass(frozen=True)
class Figures:
    """What the sanity checks measured (success rates are over clean-correct points)."""

    unbounded_eps: float
    """Budget of the unbounded PGD run."""
    unbounded_success_rate: float
    """Success of PGD with the unbounded budget."""
    success_rate: float
    """Success of PGD with ``steps`` at ``eps``."""
    more_effort_success_rate: float
    """Success of PGD with ``5 x steps`` and 2 restarts at ``eps``."""
    white_box_success_rate: float
    """Per-point best of PGD, APGD-CE and APGD-T at ``eps``."""
    black_box_success_rate: float
    """Success of Square at ``eps``."""
    curve: list[dict[str, float]]
    """Robust accuracy of independent PGD runs at ``eps/2``, ``eps`` and ``2 eps``."""
    zero_or_nan_fraction: float
    """Fraction of points whose input gradient is zero or not finite."""
    randomized_fraction: float = 0.0
    """Fraction of points whose logits differ between two queries."""


def judge(f: Figures, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply the rules SAN-001..SAN-005 to measured figures; one entry per check."""
    tol = params["tolerance"]
    rises = [b["robust_accuracy"] - a["robust_accuracy"] for a, b in itertools.pairwise(f.curve)]
    verdicts = (
        (
            f.unbounded_success_rate >= params["unbounded_success"],
            {
                "eps": f.unbounded_eps,
                "success_rate": f.unbounded_success_rate,
                "required": params["unbounded_success"],
            },
        ),
        (
            f.more_effort_success_rate >= f.success_rate - tol,
            {
                "steps": params["steps"],
                "success_rate": f.success_rate,
                "more_steps": 5 * params["steps"],
                "more_restarts": 2,
                "more_success_rate": f.more_effort_success_rate,
            },
        ),
        (
            f.black_box_success_rate <= f.white_box_success_rate + tol,
            {
                "white_box_success_rate": f.white_box_success_rate,
                "black_box_success_rate": f.black_box_success_rate,
                "square_queries": params["square_queries"],
            },
        ),
        (max(rises, default=0.0) <= tol, {"curve": f.curve}),
        (
            f.zero_or_nan_fraction <= params["zero_gradient_fraction"],
            {
                "zero_or_nan_fraction": f.zero_or_nan_fraction,
                "allowed": params["zero_gradient_fraction"],
            },
        ),
        (f.randomized_fraction == 0.0, {"randomized_fraction": f.randomized_fraction}),
    )
    return [
        {
            "rule": c.rule,
            "check": c.key,
            "title": c.title,
            "passed": bool(ok),
            "evidence": evidence,
        }
        for c, (ok, evidence) in zip(CHECKS, verdicts, strict=True)
    ]


def randomized_fraction(target: Differentiable, data: Dataset) -> float:
    """Share of points whose logits differ (beyond float noise) between two queries."""
    x = torch.as_tensor(data.x)
    if not len(x):
        return 0.0
    first, second = target.logits_batched(x), target.logits_batched(x)
    scale = first.abs().amax(1).clamp_min(1.0)
    differs = (first - second).abs().amax(1) > 1e-4 * scale
    return float(differs.float().mean())


def zero_or_nan_gradients(target: Differentiable, data: Dataset) -> np.ndarray:
    """Per sample: whether the cross-entropy input gradient is all zero or not finite."""
    x = torch.as_tensor(data.x)
    y = torch.as_tensor(data.y)
    bs = target.batch_size
    out = []
    for s in range(0, len(x), bs):
        xb = x[s : s + bs].clone().requires_grad_(True)
        logits = target.logits(xb)
        if not logits.requires_grad:  # the model cuts the graph: no gradient at all
            out.append(np.ones(len(xb), dtype=bool))
            continue
        (g,) = torch.autograd.grad(ce_loss(logits, y[s : s + bs]).sum(), xb, allow_unused=True)
        if g is None:
            out.append(np.ones(len(xb), dtype=bool))
            continue
        flat = g.reshape(len(g), -1)
        out.append((~torch.isfinite(flat).all(1) | (flat.abs().amax(1) == 0)).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=bool)
