"""``defence.evasion``: harden, certify and wrap a model, then attack each defence as it must be.

One row per defence beside the undefended model, measured on the same points at the same budget:

- training defences (``pgd-at``, ``trades``, ``noise``) train the recipe's architecture
  (:mod:`~aisec.defences.hardening`) and are evaluated by the AutoAttack ensemble; the
  noise-trained model is also certified by randomized smoothing
  (:mod:`~aisec.defences.smoothing`);
- pre-processing defences (``bit-depth``, ``jpeg``, ``median``, ``randomization``) wrap the
  model (:mod:`~aisec.defences.preprocessing`); the gradient-masking sanity checks run on the
  deployed wrapper, plain PGD measures what a non-adaptive evaluation would report, and the
  ensemble through the adaptive view (BPDA, EoT) measures what the defence really buys. The
  row's robust accuracy is the per-point worst case of both evaluations.

Adversarial examples found through an adaptive view are scored by the deployed defence (a fresh
random draw for randomized ones), never by the view that found them.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from aisec import progress
from aisec.attacks.evasion.ensemble import Ensemble
from aisec.attacks.evasion.pgd import PGD
from aisec.attacks.evasion.sanity import GradientMaskingSanity
from aisec.base import Measurement, NotApplicable, SecurityTest
from aisec.data.splits import TEST, TRAIN, Splits
from aisec.defences.hardening import METHODS, HardeningSettings, harden
from aisec.defences.preprocessing import PREPROCESSORS, Preprocessed, make_preprocessor
from aisec.defences.smoothing import certify
from aisec.findings import FindingRule
from aisec.params import Interval, ListOf, OptionalOf, Options, Param, SubsetOf, declare
from aisec.records import Severity
from aisec.records.defences import CertifiedPoint, DefenceRow, DefencesOutcome
from aisec.records.evasion import CurvePoint
from aisec.registry import register
from aisec.targets.base import Capability, Target
from aisec.targets.views import Classifier, Differentiable, differentiable

DEFENCES = METHODS + PREPROCESSORS
"""Every defence ``defence.evasion`` measures."""

CURVE_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
"""L2 radii of the certified-accuracy curve."""


Item = tuple[DefencesOutcome, DefenceRow]


def _defended(o: DefencesOutcome) -> list[Item]:
    return [(o, r) for r in o.rows[1:]]


def _masking(o: DefencesOutcome) -> list[Item]:
    return [(o, r) for r in o.rows[1:] if r.plain_robust_accuracy is not None]


def _cost(item: Item) -> float:
    o, r = item
    return max(0.0, o.undefended.clean_accuracy - r.clean_accuracy)


def _advice(item: Item) -> str:
    o, r = item
    best = f" The defence that measured best here is {o.best}." if o.best else ""
    return (
        f"{r.defence} costs more clean accuracy than it may: tune it (a smaller training "
        "budget, TRADES' beta, a milder transform) or pick another defence." + best
    )


def _gain_title(item: Item, s: Any) -> str:
    o, r = item
    u = o.undefended
    cert = (
        f"; certified {r.certified_accuracy:.1%} at L2 radius {o.radius:g}"
        if r.certified_accuracy is not None
        else ""
    )
    return (
        f"{r.settings} moves {s.target}'s robust accuracy at {o.norm} {o.eps:g} from "
        f"{u.robust_accuracy:.1%} to {r.robust_accuracy:.1%} ({r.attack}); clean accuracy "
        f"{u.clean_accuracy:.1%} -> {r.clean_accuracy:.1%}{cert}"
    )


def _row_evidence(item: Item) -> dict[str, Any]:
    o, r = item
    u = o.undefended
    return {
        "defence": r.defence,
        "clean_accuracy": r.clean_accuracy,
        "robust_accuracy": r.robust_accuracy,
        "undefended_clean_accuracy": u.clean_accuracy,
        "undefended_robust_accuracy": u.robust_accuracy,
        "attack": r.attack,
        "eps": o.eps,
        "norm": o.norm,
        "certified_accuracy": r.certified_accuracy,
        "inference_ms": r.inference_ms,
        "train_seconds": r.train_seconds,
    }


HRD_001: FindingRule[DefencesOutcome] = FindingRule(
    rule="HRD-001",
    outcome=DefencesOutcome,
    each=_defended,
    measure=_cost,
    thresholds={Severity.HIGH: 0.2, Severity.MEDIUM: 0.05, Severity.LOW: 0.01},
    title=_gain_title,
    evidence=_row_evidence,
    key=lambda item: item[1].defence,
    recommendation=_advice,
    recommendation_below=(
        "The defence keeps clean accuracy; compare its robust accuracy with the others' in the "
        "trade-off table before deploying it."
    ),
)
"""Rule HRD-001 (docs/findings.md): what a defence buys, severity from its accuracy cost."""


def _masking_gap(item: Item) -> float:
    _, r = item
    assert r.plain_robust_accuracy is not None
    return max(0.0, r.plain_robust_accuracy - r.robust_accuracy)


HRD_002: FindingRule[DefencesOutcome] = FindingRule(
    rule="HRD-002",
    outcome=DefencesOutcome,
    each=_masking,
    measure=_masking_gap,
    thresholds={Severity.HIGH: 0.2, Severity.MEDIUM: 0.1, Severity.LOW: 0.05},
    title=lambda item, s: (
        f"{item[1].settings} on {s.target} masks gradients: plain PGD reports "
        f"{item[1].plain_robust_accuracy:.1%} robust accuracy at {item[0].norm} "
        f"{item[0].eps:g}, the adaptive attack ({item[1].attack}) {item[1].robust_accuracy:.1%}"
        + (
            f"; sanity checks failed: {', '.join(item[1].masking_flags)}"
            if item[1].masking_flags
            else ""
        )
    ),
    evidence=lambda item: {
        **_row_evidence(item),
        "plain_robust_accuracy": item[1].plain_robust_accuracy,
        "masking_flags": list(item[1].masking_flags),
    },
    key=lambda item: item[1].defence,
    recommendation=(
        "Do not count this pre-processing as robustness: a non-adaptive evaluation overstates "
        "it. Report the adaptive figure, and harden the model itself (adversarial training) "
        "or certify it (randomized smoothing)."
    ),
    recommendation_below=(
        "The adaptive attack did not find much more than plain PGD; keep evaluating the "
        "defence adaptively."
    ),
)
"""Rule HRD-002 (docs/findings.md): a pre-processing defence whose robustness is masking."""


@register
class EvasionDefences(SecurityTest):
    """Defences against evasion and what they cost, each evaluated by the attack that fits it.

    References: Madry et al., ICLR 2018; Zhang et al. (TRADES), ICML 2019; Cohen et al., ICML
    2019; Athalye, Carlini & Wagner, ICML 2018 (BPDA, EoT); Tramer et al., NeurIPS 2020.
    """

    id = "defence.evasion"
    name = "Evasion defences trade-off"
    family = "defence"
    requires = frozenset({Capability.GRADIENTS})
    threats = ("evasion-digital",)
    references = (
        "Madry et al., ICLR 2018, arXiv:1706.06083",
        "Zhang et al., ICML 2019, arXiv:1901.08573 (TRADES)",
        "Cohen et al., ICML 2019, arXiv:1902.02918 (randomized smoothing)",
        "Athalye, Carlini & Wagner, ICML 2018, arXiv:1802.00420 (BPDA, EoT)",
        "Tramer et al., NeurIPS 2020, arXiv:2002.08347 (adaptive attacks)",
    )
    data_kind = "splits"
    required_splits = (TRAIN, TEST)
    array_inputs = True
    outcome_type = DefencesOutcome
    rules = (HRD_001, HRD_002)
    parameters = declare(
        defences=Param(
            ["pgd-at", "noise", "bit-depth"],
            SubsetOf(DEFENCES),
            f"Defences measured ({', '.join(DEFENCES)}).",
        ),
        eps=Param(0.1, Interval(float, 0, None, closed="neither"), "Evaluation budget."),
        curve=Param(
            None,
            OptionalOf(ListOf(Interval(float, 0, None, closed="neither"), max_len=8)),
            "Other budgets every row is evaluated at by the ensemble (default: none).",
        ),
        norm=Param("linf", Options(("linf", "l2")), "Norm of the budget."),
        preset=Param("fast", Options(("fast", "standard")), "Ensemble preset of the evaluation."),
        limit=Param(200, Interval(int, 1, 1_000_000), "Test points evaluated."),
        train_eps=Param(
            None,
            OptionalOf(Interval(float, 0, None, closed="neither")),
            "Budget of adversarial training (default: the evaluation budget).",
        ),
        train_steps=Param(10, Interval(int, 1, 1000), "Steps of the attack inside training."),
        epochs=Param(
            None, OptionalOf(Interval(int, 1, 10_000)), "Training epochs (default: the recipe's)."
        ),
        beta=Param(6.0, Interval(float, 0, None), "TRADES' robustness weight."),
        sigma=Param(0.25, Interval(float, 0, None, closed="neither"), "Smoothing noise."),
        radius=Param(
            0.5, Interval(float, 0, None), "L2 radius of the certified accuracy in the table."
        ),
        certify_n=Param(1000, Interval(int, 10, 10_000_000), "Estimation samples per point."),
        certify_limit=Param(100, Interval(int, 1, 1_000_000), "Points certified."),
        alpha=Param(0.001, Interval(float, 0, 1, closed="neither"), "Certificate failure rate."),
        bits=Param(3, Interval(int, 1, 16), "bit-depth: bits kept."),
        quality=Param(50, Interval(int, 1, 100), "jpeg: quality."),
        kernel=Param(3, Interval(int, 2, 15), "median: window side."),
        shrink=Param(
            0.15, Interval(float, 0, 1, closed="neither"), "randomization: largest shrink."
        ),
        eot_samples=Param(8, Interval(int, 1, 1000), "randomization: EoT draws per query."),
        sanity_limit=Param(60, Interval(int, 1, 1_000_000), "Points of the sanity checks."),
        max_accuracy_cost=Param(
            0.05, Interval(float, 0, 1), "Clean accuracy a recommended defence may cost."
        ),
    )

    def _execute(
        self, target: Target, data: Splits, params: dict[str, Any], seed: int
    ) -> Measurement | NotApplicable:
        model = differentiable(target, self.id)
        test = data[TEST].subset(params["limit"], seed=seed)
        x, y = torch.as_tensor(test.x), torch.as_tensor(test.y)
        eps, norm = params["eps"], params["norm"]
        rows = []
        with progress.stage("undefended"):
            rows.append(
                self._measured("none", "none", "undefended", model, model, x, y, params, seed)
            )
        skipped: list[str] = []
        recipe = getattr(target, "recipe", None)
        for name in params["defences"]:
            with progress.stage(name):
                if name in METHODS:
                    if recipe is None or recipe.module is None or recipe.deploy is None:
                        skipped.append(
                            f"{name}: the target's recipe gives no module to train (use a "
                            "built-in target or a recipe with `module` and `deploy`)"
                        )
                        continue
                    rows.append(self._trained(name, recipe, data, x, y, params, seed))
                else:
                    rows.append(self._preprocessed(name, model, test, x, y, params, seed))
        best = recommend(rows, params["max_accuracy_cost"])
        return Measurement(
            DefencesOutcome(
                eps=eps,
                norm=norm,
                evaluation=f"ensemble ({params['preset']})",
                n=len(test),
                rows=tuple(rows),
                best=best,
                max_accuracy_cost=params["max_accuracy_cost"],
                radius=params["radius"] if "noise" in params["defences"] else 0.0,
                sigma=params["sigma"] if "noise" in params["defences"] else 0.0,
                skipped=tuple(skipped),
            )
        )

    def _measured(
        self,
        defence: str,
        kind: str,
        settings: str,
        attacked: Differentiable,
        deployed: Classifier,
        x: torch.Tensor,
        y: torch.Tensor,
        params: dict[str, Any],
        seed: int,
        *,
        plain: bool = False,
        attack: str | None = None,
        **extra: Any,
    ) -> DefenceRow:
        """Clean and ensemble-robust accuracy of ``deployed``, attacked through ``attacked``;
        with ``plain``, also PGD with the deployed gradient (the row keeps the worst case)."""
        eps, norm = params["eps"], params["norm"]
        start = time.perf_counter()
        clean = deployed.predict_labels(x.numpy()) == y.numpy()
        ms = 1000 * (time.perf_counter() - start) / max(len(x), 1)
        ensemble = Ensemble(preset=params["preset"])
        progress.note(f"ensemble on {settings}")
        robust = survives(ensemble, attacked, deployed, x, y, clean, eps, norm, seed)
        if plain:
            progress.note(f"plain PGD on {settings}")
            pgd = PGD(eps=eps, norm=norm, steps=40, loss="ce")
            held = survives(pgd, deployed, deployed, x, y, clean, eps, norm, seed)
            extra["plain_robust_accuracy"] = float(held.mean())
            robust &= held
        curve = []
        for other in params["curve"] or ():
            progress.note(f"ensemble on {settings} at {other:g}")
            ok = survives(ensemble, attacked, deployed, x, y, clean, other, norm, seed)
            curve.append(CurvePoint(float(other), float(ok.mean())))
        return DefenceRow(
            defence=defence,
            kind=kind,
            settings=settings,
            clean_accuracy=float(clean.mean()),
            robust_accuracy=float(robust.mean()),
            attack=attack or f"ensemble ({params['preset']})",
            inference_ms=ms,
            curve=tuple(curve),
            **extra,
        )

    def _trained(
        self,
        name: str,
        recipe: Any,
        data: Splits,
        x: torch.Tensor,
        y: torch.Tensor,
        params: dict[str, Any],
        seed: int,
    ) -> DefenceRow:
        settings = HardeningSettings(
            method=name,
            eps=params["train_eps"] or params["eps"],
            norm=params["norm"],
            steps=params["train_steps"],
            beta=params["beta"],
            sigma=params["sigma"],
            epochs=params["epochs"],
        )
        train = data[TRAIN]
        progress.note(f"training {settings.label()}")
        hardened = harden(recipe, train.x, train.y, seed, settings)
        view = differentiable(hardened.target, self.id)
        extra: dict[str, Any] = {"train_seconds": hardened.seconds}
        if name == "noise":
            progress.note("certifying the smoothed model")
            n_cert = min(params["certify_limit"], len(x))
            start = time.perf_counter()
            certs = certify(
                view,
                x[:n_cert].numpy(),
                params["sigma"],
                n=params["certify_n"],
                alpha=params["alpha"],
                seed=seed,
            )
            extra["certify_ms"] = 1000 * (time.perf_counter() - start) / max(n_cert, 1)
            yc = y[:n_cert].numpy()
            extra["certified_accuracy"] = certs.accuracy_at(yc, params["radius"])
            extra["certified_curve"] = tuple(
                CertifiedPoint(r, a) for r, a in certs.curve(yc, np.array(CURVE_RADII))
            )
        return self._measured(
            name, "training", hardened.settings.label(), view, view, x, y, params, seed, **extra
        )

    def _preprocessed(
        self,
        name: str,
        model: Differentiable,
        test: Any,
        x: torch.Tensor,
        y: torch.Tensor,
        params: dict[str, Any],
        seed: int,
    ) -> DefenceRow:
        pre = make_preprocessor(
            name,
            bits=params["bits"],
            quality=params["quality"],
            kernel=params["kernel"],
            shrink=params["shrink"],
        )
        deployed = Preprocessed(model, pre, seed=seed)
        progress.note(f"sanity checks on {pre.label()}")
        sanity = GradientMaskingSanity(
            eps=params["eps"],
            norm=params["norm"],
            limit=params["sanity_limit"],
            steps=20,
            square_queries=300,
        ).run(deployed, test, seed=seed)
        flags = tuple(sanity.metrics.get("failed", ())) if sanity.ok else ()
        adaptive = deployed.adaptive(params["eot_samples"])
        how = f"EoT-{adaptive.samples}" if pre.random else "BPDA"
        return self._measured(
            name,
            "preprocessing",
            pre.label(),
            adaptive,
            deployed,
            x,
            y,
            params,
            seed,
            plain=True,
            attack=f"{how} + plain PGD + ensemble ({params['preset']})",
            masking_flags=flags,
        )


def survives(
    attack: Any,
    attacked: Differentiable,
    deployed: Classifier,
    x: torch.Tensor,
    y: torch.Tensor,
    clean: np.ndarray,
    eps: float,
    norm: str,
    seed: int,
) -> np.ndarray:
    """Per point: correct without attack (``clean``) and still correct, as ``deployed`` answers,
    on the adversarial example ``attack`` finds through ``attacked``."""
    adv = attack.perturb(attacked, x, y, eps=eps, norm=norm, generator=_gen(seed))
    return clean & (deployed.predict_labels(adv.x_adv.numpy()) == y.numpy())


def recommend(rows: list[DefenceRow], max_cost: float) -> str:
    """The defence with the highest robust accuracy among those within ``max_cost`` of the
    undefended clean accuracy (empty when none improves on the undefended model)."""
    if not rows:
        return ""
    base = rows[0]
    fit = [
        r
        for r in rows[1:]
        if base.clean_accuracy - r.clean_accuracy <= max_cost
        and r.robust_accuracy > base.robust_accuracy
    ]
    return max(fit, key=lambda r: (r.robust_accuracy, r.clean_accuracy)).defence if fit else ""


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
