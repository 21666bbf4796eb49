"""Shared machinery of evasion attacks: clean scoring, budgets, curves, re-scoring and findings.

Two small templates sit on :class:`EvasionAttack`:

- :class:`FixedBudgetAttack` (PGD, APGD, Square, the ensemble): find an adversarial within a
  given budget ``eps``, which is required.
- :class:`MinimumNormAttack` (C&W, DeepFool, FAB, HopSkipJump): find the smallest adversarial
  perturbation; with a budget, success means "adversarial and within ``eps``".

An attack writes one method, ``_perturb``, which receives only the points that are still
unbroken. The base then re-scores every adversarial with an independent forward pass through
the public API, so the reported success is what the model really does. :meth:`perturb` is the
public way to attack a batch at one budget, which is how the ensemble composes attacks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from aisec import progress
from aisec.attacks.base import Attack
from aisec.attacks.evasion.gradients import project
from aisec.attacks.evasion.health import GradientHealth
from aisec.base import Measurement
from aisec.errors import CapabilityError
from aisec.findings import FindingRule
from aisec.metrics.robustness import (
    attack_success_rate,
    norm_summary,
    perturbation_norms,
    robust_accuracy,
    wilson_interval,
)
from aisec.params import Boolean, Interval, ListOf, OptionalOf, Options, Param, declare
from aisec.records import Severity
from aisec.records.evasion import (
    MAX_CURVE_POINTS,
    CurvePoint,
    EvasionOutcome,
    GradientSigns,
    MinimalNorm,
    QueryCost,
)
from aisec.targets.base import Capability
from aisec.targets.views import Classifier, Differentiable, classifier, differentiable

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.targets.base import Target

NORMS = ("linf", "l2", "l1")


@dataclass(frozen=True)
class StageLog:
    """What one stage of a composed attack did in one pass."""

    attack: str
    """Stage label."""
    broken: int
    """Points the stage broke."""
    remaining: int
    """Points still robust after the stage (of those the pass attacked)."""
    seconds: float
    """Wall-clock time of the stage."""
    unavailable: bool = False
    """The stage's attack is not available in this installation."""


@dataclass
class Perturbation:
    """What ``_perturb`` returns for the points it was given."""

    x_adv: torch.Tensor
    """Adversarial inputs, same shape as the inputs given, within bounds."""
    queries: np.ndarray | None = None
    """Model queries spent per sample (black-box attacks)."""
    stages: tuple[StageLog, ...] = ()
    """What each stage did, for attacks composed of others."""
    runs: int | None = None
    """Runs per point (restarts times target classes) when more than one."""


@dataclass(frozen=True)
class AdversarialBatch:
    """What :meth:`EvasionAttack.perturb` returns: candidates within the budget, re-scored."""

    x_adv: torch.Tensor
    """Candidate adversarials (within bounds and, with a budget, within ``eps``)."""
    success: np.ndarray
    """Which candidates the target misclassifies (targeted: classifies as the target)."""
    queries: np.ndarray | None = None
    """Queries spent per point, for attacks that count them."""


@dataclass
class AttackContext:
    """Everything ``_perturb`` may need besides the points themselves."""

    target: Classifier
    """The target as a classifier in its output mode."""
    eps: float | None
    """Budget of this pass (None for a minimum-norm attack without one)."""
    norm: str
    """``linf``, ``l2`` or ``l1``."""
    params: dict[str, Any]
    """The attack's parameters, defaults applied."""
    generator: torch.Generator
    """The only source of randomness."""
    y_target: torch.Tensor | None = None
    """Target classes for targeted attacks (None when untargeted)."""
    white_box: Differentiable | None = None
    """The differentiable view, when the target grants gradients."""
    memo: dict[bytes, Any] = field(default_factory=dict)
    """Scratch space shared by every pass of one run (e.g. answers kept across a curve)."""
    health: GradientHealth | None = None
    """Where a gradient attack records signs of masking (None: not watched, e.g. in
    :meth:`EvasionAttack.perturb`, whose caller judges the composed result)."""

    @property
    def model(self) -> Differentiable:
        """The differentiable view (white-box attacks declare ``gradients`` and get it)."""
        if self.white_box is None:
            raise CapabilityError(
                f"target {self.target.name!r} grants no gradients; use a black-box attack"
            )
        return self.white_box


def _title(o: EvasionOutcome, s: Any) -> str:
    what = "targeted" if o.targeted else "untargeted"
    return (
        f"{s.test_name} ({what}, {o.norm} eps={o.eps:g}) cuts accuracy from "
        f"{o.clean_accuracy:.1%} to {o.robust_accuracy:.1%}"
    )


def relative_drop(o: EvasionOutcome) -> float:
    """``(clean - robust) / clean`` at the budget (0 when nothing was classified correctly)."""
    clean = o.clean_accuracy
    return (clean - o.robust_accuracy) / clean if clean > 0 else 0.0


EVA_001: FindingRule[EvasionOutcome] = FindingRule(
    rule="EVA-001",
    outcome=EvasionOutcome,
    measure=lambda o: None if o.eps is None else relative_drop(o),
    thresholds={
        Severity.CRITICAL: 0.9,
        Severity.HIGH: 0.5,
        Severity.MEDIUM: 0.2,
        Severity.LOW: 0.05,
    },
    title=_title,
    evidence=lambda o: {
        "clean_accuracy": o.clean_accuracy,
        "robust_accuracy": o.robust_accuracy,
        "relative_drop": relative_drop(o),
        "eps": o.eps,
        "norm": o.norm,
        "n": o.n,
        "robust_accuracy_ci95": list(o.robust_accuracy_ci95),
    },
    key=lambda o: f"{o.norm}:{o.eps:g}",
    recommendation=(
        "Harden the model (adversarial training, input preprocessing with care for gradient "
        "masking, certified defences) and re-assess with the ensemble attack."
    ),
    recommendation_below="Keep monitoring; re-assess with stronger attacks and larger budgets.",
)
"""Rule EVA-001 (docs/findings.md): severity from the relative accuracy drop at the budget."""


_INSTEAD = {
    "saturated softmax": (
        "the softmax is saturated, so the cross-entropy gives no gradient: run evasion.apgd-dlr "
        "or evasion.ensemble (the DLR loss is invariant to the logits' scale), or PGD with "
        "`loss: auto` or `dlr`"
    ),
    "zero gradients": (
        "the input gradient is zero, typical of quantising or non-differentiable preprocessing: "
        "run a black-box attack (evasion.square, evasion.hsj) or evasion.ensemble, and attack "
        "the preprocessing with straight-through (BPDA) gradients"
    ),
    "non-finite values": (
        "the model returns NaN or infinite values or gradients: fix the numerical problem, and "
        "meanwhile run a black-box attack (evasion.square, evasion.hsj)"
    ),
    "no progress of the loss": (
        "the loss did not rise on these points: run evasion.ensemble (more restarts, targeted "
        "and black-box stages) before trusting the robust accuracy"
    ),
    "no adversarial in an unbounded search": (
        "an unbounded search found no adversarial for these points, which a sound gradient "
        "search always can: run a black-box attack (evasion.hsj, evasion.square) or "
        "evasion.ensemble before trusting the minimal perturbations"
    ),
}


def _signs_title(g: GradientSigns, s: Any) -> str:
    if g.unbounded:
        return (
            f"{s.test_name} result may overstate robustness: {g.flagged} of {g.attacked} "
            f"attacked points show {g.main_sign}"
        )
    return (
        f"{s.test_name} result may overstate robustness: {g.flagged} of {g.unbroken} unbroken "
        f"points show {g.main_sign}"
    )


EVA_002: FindingRule[EvasionOutcome] = FindingRule(
    rule="EVA-002",
    outcome=EvasionOutcome,
    each=lambda o: [o.gradient_signs] if o.gradient_signs is not None else [],
    measure=lambda g: g.flagged_fraction if g.flagged else None,
    thresholds={Severity.HIGH: 0.5, Severity.MEDIUM: 0.1, Severity.LOW: 0.0},
    title=_signs_title,
    evidence=lambda g: {
        "attack": g.attack,
        "unbroken": g.unbroken,
        "flagged": g.flagged,
        "flagged_fraction": g.flagged_fraction,
        "saturated": g.saturated,
        "zero_gradient": g.zero_gradient,
        "non_finite": g.non_finite,
        "no_progress": g.no_progress,
        "switched_to_margin": g.switched_to_margin,
        "not_found": g.not_found,
        "attacked": g.attacked,
    },
    recommendation=lambda g: f"Treat this robust accuracy as unreliable: {_INSTEAD[g.main_sign]}.",
    recommendation_below=(
        "A few unbroken points show signs of gradient masking; confirm the robust accuracy "
        "with evasion.ensemble."
    ),
)
"""Rule EVA-002 (docs/findings.md): a gradient attack's own signs of gradient masking."""


def evasion_severity(drop: float) -> Severity:
    """EVA-001's severity for a relative accuracy drop."""
    return EVA_001.severity(drop)


def max_budget(norm: str, bounds: tuple[float, float], shape: tuple[int, ...]) -> float:
    """The largest meaningful budget: the norm of a perturbation spanning the whole range."""
    span = bounds[1] - bounds[0]
    dim = int(np.prod(shape)) if shape else 1
    return {"linf": span, "l2": span * math.sqrt(dim), "l1": span * dim}[norm]


def budget_problem(
    name: str, eps: float, norm: str, bounds: tuple[float, float], top: float
) -> str:
    """The message for a budget beyond what the input range allows."""
    lo, hi = bounds
    msg = (
        f"`{name}` must be at most {top:g} for {norm} perturbations of inputs in "
        f"[{lo:g}, {hi:g}]; got {eps:g}"
    )
    if norm == "linf" and 1 <= eps <= 255 and hi - lo <= 1:
        msg += f". Did you mean {eps:g}/255 ({eps / 255:.4g})?"
    return msg


class EvasionAttack(Attack):
    """Base of every evasion attack (digital, white- or black-box)."""

    family = "evasion"
    threats: ClassVar[tuple[str, ...]] = ("evasion-digital",)
    supported_norms: ClassVar[tuple[str, ...]] = NORMS
    watches_gradients: ClassVar[bool] = False
    """Whether the attack records its gradients' health (rule EVA-002) when run on its own."""
    probes_gradients: ClassVar[bool] = False
    """The attack does not report its own gradient passes; the base checks one cross-entropy
    gradient pass at the clean points instead (minimum-norm attacks)."""
    rules = (EVA_001, EVA_002)
    outcome_type = EvasionOutcome
    parameters = declare(
        eps=Param(
            0.1,
            OptionalOf(
                Interval(
                    float,
                    0,
                    None,
                    closed="left",
                    hint="For images in [0, 1], 8/255 is about 0.031.",
                )
            ),
            "Perturbation budget, in the target's input units.",
        ),
        norm=Param("linf", Options(NORMS), "Norm of the budget: linf, l2 or l1."),
        curve=Param(
            None,
            OptionalOf(
                ListOf(
                    Interval(float, 0, None, closed="left"),
                    max_len=MAX_CURVE_POINTS,
                    hint="thin the list",
                )
            ),
            f"Further budgets to measure robust accuracy at (at most {MAX_CURVE_POINTS}).",
        ),
        targeted=Param(False, Boolean(), "Aim at chosen classes instead of any error."),
        target_class=Param(
            None, OptionalOf(Interval(int, 0, None)), "The class every point is pushed to."
        ),
        keep_adversarials=Param(True, Boolean(), "Store the adversarial inputs."),
    )

    # -- checks ---------------------------------------------------------------------------
    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """Norms, target classes, and budgets within the input range."""
        problems = []
        spec = classifier(target, self.id).spec
        norm = params["norm"]
        if norm not in self.supported_norms:
            problems.append(
                f"`norm` must be one of {', '.join(self.supported_norms)} for {self.name}; "
                f"got {norm!r}"
            )
        tc = params.get("target_class")
        if tc is not None and tc >= spec.n_classes:
            problems.append(f"`target_class` must be below {spec.n_classes}; got {tc}")
        if norm in NORMS:
            top = max_budget(norm, spec.bounds, spec.shape)
            if params.get("eps") is not None and params["eps"] > top * (1 + 1e-9):
                problems.append(budget_problem("eps", params["eps"], norm, spec.bounds, top))
            for e in params.get("curve") or []:
                if e > top * (1 + 1e-9):
                    problems.append(budget_problem("curve", e, norm, spec.bounds, top))
                    break
        problems += self._budget_problems(params)
        return problems

    def _budget_problems(self, params: dict[str, Any]) -> list[str]:
        return []

    # -- the one hook each attack writes ---------------------------------------------------
    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        """Attack the given (still unbroken, correctly classified) points."""
        raise NotImplementedError

    # -- template points (fixed budget vs minimum norm) -----------------------------------
    def _accept(self, cand: torch.Tensor, x: torch.Tensor, hit: np.ndarray, eps: float | None,
                norm: str) -> np.ndarray:  # fmt: skip
        """Which re-scored candidates count as successes at budget ``eps``."""
        return hit

    def _to_budget(self, cand: torch.Tensor, x: torch.Tensor, eps: float | None, norm: str,
                   bounds: tuple[float, float]) -> torch.Tensor:  # fmt: skip
        """Candidates brought within the budget, for :meth:`perturb`."""
        return cand

    # -- public composition ---------------------------------------------------------------
    def perturb(
        self,
        target: Target,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        eps: float | None,
        norm: str | None = None,
        y_target: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> AdversarialBatch:
        """Attack a batch at one budget; candidates are within bounds and budget, re-scored."""
        view = classifier(target, self.id)
        params = {**self.resolved_params(), "eps": eps, "norm": norm or self._resolved["norm"]}
        ctx = self._context(view, params, eps, generator or torch.Generator().manual_seed(0))
        ctx.y_target = y_target
        out = self._perturb(x, y, ctx)
        cand = _candidates(out.x_adv.detach().cpu(), x, view)
        cand = self._to_budget(cand, x, eps, params["norm"], view.spec.bounds)
        return AdversarialBatch(cand, _rescore(view, cand, y, y_target), out.queries)

    def _context(
        self, view: Classifier, params: dict[str, Any], eps: float | None, gen: torch.Generator
    ) -> AttackContext:
        white = differentiable(view, self.id) if Capability.GRADIENTS in view.capabilities else None
        return AttackContext(view, eps, params["norm"], params, gen, white_box=white)

    # -- the run --------------------------------------------------------------------------
    def _execute(
        self, target: Target, data: Dataset, params: dict[str, Any], seed: int
    ) -> Measurement:
        view = classifier(target, self.id)
        x = torch.as_tensor(data.x)
        y = torch.as_tensor(data.y)
        n = len(y)
        clean_pred = torch.as_tensor(view.predict_labels(data.x))
        y_target = self._choose_targets(y, view.spec.n_classes, params, seed)
        correct = (clean_pred == y).numpy()
        if y_target is not None:
            correct &= (y_target != y).numpy()

        budget = params.get("eps")
        eps_list: list[float | None] = sorted(
            set(params.get("curve") or []) | ({budget} if budget is not None else set())
        )
        if not eps_list:
            eps_list = [None]  # minimum-norm attack without a budget
        gen = torch.Generator().manual_seed(seed)
        base_ctx = self._context(view, params, None, gen)
        broken = np.zeros(n, dtype=bool)
        x_adv = x.clone()
        found_adv = x.clone()
        success_at_budget = broken
        queries = np.zeros(n, dtype=np.int64)
        curve: list[CurvePoint] = []
        stages: tuple[StageLog, ...] = ()
        runs: int | None = None
        health = GradientHealth(n) if self.watches_gradients else None
        for k, eps in enumerate(eps_list):
            if len(eps_list) > 1:
                progress.count("budget", k + 1, len(eps_list))
            active = np.flatnonzero(correct & ~broken)
            if len(active):
                idx = torch.as_tensor(active)
                ctx = AttackContext(
                    target=view,
                    eps=eps,
                    norm=params["norm"],
                    params=params,
                    generator=gen,
                    y_target=None if y_target is None else y_target[idx],
                    white_box=base_ctx.white_box,
                    memo=base_ctx.memo,
                    health=None if health is None else GradientHealth(len(active)),
                )
                out = self._perturb(x[idx], y[idx], ctx)
                if health is not None and ctx.health is not None:
                    if self.probes_gradients and ctx.white_box is not None:
                        fresh = ctx.health.passes == 0
                        ctx.health.probe(
                            ctx.white_box, np.flatnonzero(fresh), x[idx][fresh], y[idx][fresh]
                        )
                    health.merge(ctx.health, active)
                cand = _candidates(out.x_adv.detach().cpu(), x[idx], view)
                hit = _rescore(view, cand, y[idx], ctx.y_target)
                hit = self._accept(cand, x[idx], hit, eps, params["norm"])
                if out.queries is not None:
                    queries[active] += out.queries
                if eps == budget or budget is None:
                    stages = out.stages or stages
                runs = out.runs or runs
                take = active[hit]
                broken[take] = True
                if eps is None or budget is None or eps <= budget:
                    x_adv[take] = cand[hit]
                if self._keeps_first_found(eps, eps_list):
                    found_adv[active] = cand
            if eps is not None:
                curve.append(CurvePoint(float(eps), float(np.mean(correct & ~broken))))
            if budget is not None and eps == budget:
                success_at_budget = broken.copy()
        success = success_at_budget if budget is not None else broken
        signs = None
        if health is not None:
            unbounded = isinstance(self, MinimumNormAttack) and eps_list == [None]
            signs = health.signs(correct & ~broken, self.id, correct, unbounded)
        return self._measure(
            data, x_adv, found_adv, correct, success, queries, curve, stages, runs, params, signs
        )

    def _keeps_first_found(self, eps: float | None, eps_list: list[float | None]) -> bool:
        return False

    def _choose_targets(
        self, y: torch.Tensor, n_classes: int, params: dict[str, Any], seed: int
    ) -> torch.Tensor | None:
        if not params.get("targeted"):
            return None
        if params.get("target_class") is not None:
            return torch.full_like(y, int(params["target_class"]))
        gen = torch.Generator().manual_seed(seed + 7919)
        offset = torch.randint(1, n_classes, y.shape, generator=gen)
        return (y + offset) % n_classes

    def _minimal(
        self, data: Dataset, found_adv: torch.Tensor, correct: np.ndarray, norm: str
    ) -> tuple[MinimalNorm | None, np.ndarray | None]:
        return None, None

    def _extra_fields(
        self, params: dict[str, Any], stages: tuple[StageLog, ...], n: int
    ) -> dict[str, Any]:
        """Outcome fields particular to one attack (the ensemble's preset and stages)."""
        return {}

    def _measure(
        self,
        data: Dataset,
        x_adv: torch.Tensor,
        found_adv: torch.Tensor,
        correct: np.ndarray,
        success: np.ndarray,
        queries: np.ndarray,
        curve: list[CurvePoint],
        stages: tuple[StageLog, ...],
        runs: int | None,
        params: dict[str, Any],
        signs: GradientSigns | None = None,
    ) -> Measurement:
        n = len(correct)
        xa = x_adv.numpy()
        norms = perturbation_norms(data.x, xa)
        robust = correct & ~success
        lo, hi = wilson_interval(int(robust.sum()), n)
        linf = norm_summary(norms["linf"], success)
        l2 = norm_summary(norms["l2"], success)
        l1 = norm_summary(norms["l1"], success)
        cost = None
        if queries.any():
            attacked = correct
            cost = QueryCost(
                mean=float(queries[attacked].mean()) if attacked.any() else 0.0,
                median=float(np.median(queries[attacked])) if attacked.any() else 0.0,
                max=int(queries.max()),
                total=int(queries.sum()),
            )
        minimal, minimal_norms = self._minimal(data, found_adv, correct, params["norm"])
        outcome = EvasionOutcome(
            n=n,
            eps=params.get("eps"),
            norm=params["norm"],
            targeted=bool(params.get("targeted")),
            clean_accuracy=float(np.mean(correct)) if n else 0.0,
            robust_accuracy=robust_accuracy(correct, success),
            robust_accuracy_ci95=(lo, hi),
            attack_success_rate=attack_success_rate(correct, success),
            mean_linf=linf["mean"],
            median_linf=linf["median"],
            mean_l2=l2["mean"],
            median_l2=l2["median"],
            mean_l1=l1["mean"],
            curve=tuple(curve),
            queries=cost,
            minimal_perturbation=minimal,
            apgd_runs=runs,
            gradient_signs=signs,
            **self._extra_fields(params, stages, n),
        )
        per_sample = {
            "clean_correct": correct,
            "success": success,
            "linf": norms["linf"],
            "l2": norms["l2"],
            "l1": norms["l1"],
        }
        if minimal_norms is not None:
            per_sample["minimal_norm"] = minimal_norms
        if queries.any():
            per_sample["queries"] = queries
        artifacts = (
            {"x_adv": xa.astype(np.float32)} if params.get("keep_adversarials", True) else {}
        )
        return Measurement(outcome, per_sample, artifacts)


class FixedBudgetAttack(EvasionAttack):
    """Find an adversarial within the budget ``eps`` (required)."""

    def _budget_problems(self, params: dict[str, Any]) -> list[str]:
        if params.get("eps") is None:
            return [f"`eps` is required for {self.name}; give the perturbation budget"]
        return []


class MinimumNormAttack(EvasionAttack):
    """Find the smallest adversarial perturbation; ``eps`` (optional) turns it into a budget.

    Success within a budget means "adversarial and norm <= eps"; the outcome adds the minimal
    perturbations found (``minimal_perturbation``, per-sample ``minimal_norm``).
    """

    parameters = declare(
        eps=Param(
            None,
            OptionalOf(Interval(float, 0, None, closed="left")),
            "Budget to report success within (the search itself is unbounded).",
        )
    )

    def _accept(self, cand: torch.Tensor, x: torch.Tensor, hit: np.ndarray, eps: float | None,
                norm: str) -> np.ndarray:  # fmt: skip
        if eps is None:
            return hit
        return hit & (_norm_of(cand - x, norm) <= eps * (1 + 1e-4) + 1e-7)

    def _to_budget(self, cand: torch.Tensor, x: torch.Tensor, eps: float | None, norm: str,
                   bounds: tuple[float, float]) -> torch.Tensor:  # fmt: skip
        if eps is None:
            return cand
        lo, hi = bounds
        return (x + project(cand - x, norm, eps)).clamp(lo, hi)

    def _keeps_first_found(self, eps: float | None, eps_list: list[float | None]) -> bool:
        # every point's first found adversarial, kept for the minimal-norm statistics
        return eps is None or eps == eps_list[0]

    def _minimal(
        self, data: Dataset, found_adv: torch.Tensor, correct: np.ndarray, norm: str
    ) -> tuple[MinimalNorm | None, np.ndarray | None]:
        found = perturbation_norms(data.x, found_adv.numpy())[norm]
        mask = correct & (found > 0)
        stats = norm_summary(found, mask)
        return MinimalNorm(norm=norm, median=stats["median"], mean=stats["mean"]), found


def _candidates(x_adv: torch.Tensor, x: torch.Tensor, view: Classifier) -> torch.Tensor:
    """The attack's candidates within bounds; a candidate with NaN or infinite values (the
    attack followed non-finite gradients) is a failure on its point and falls back to the
    clean input, so the independent re-scoring never sees it."""
    lo, hi = view.spec.bounds
    broken = ~torch.isfinite(x_adv.reshape(len(x_adv), -1)).all(1)
    if bool(broken.any()):
        x_adv = x_adv.clone()
        x_adv[broken] = x[broken].to(x_adv.dtype)
    return x_adv.clamp(lo, hi).to(torch.float32)


def _rescore(
    view: Classifier, x_adv: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor | None
) -> np.ndarray:
    """Independent forward pass through the public API: the reported success."""
    pred = torch.as_tensor(view.predict_labels(x_adv.numpy()))
    ok = pred == y_target if y_target is not None else pred != y
    return ok.numpy()


def _norm_of(d: torch.Tensor, norm: str) -> np.ndarray:
    flat = d.reshape(len(d), -1).double()
    if norm == "linf":
        return flat.abs().amax(1).numpy() if flat.shape[1] else np.zeros(len(d))
    if norm == "l2":
        return flat.norm(dim=1).numpy()
    return flat.abs().sum(1).numpy()
