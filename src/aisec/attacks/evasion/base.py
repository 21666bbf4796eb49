"""Shared machinery of evasion attacks: clean scoring, budgets, curves, re-scoring and findings.

An evasion attack writes one method, :meth:`EvasionAttack._perturb`, which receives only the
points that are still unbroken. The base class then re-scores every adversarial example with
an independent forward pass, so the reported success is what the model really does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from aisec.attacks.base import Attack
from aisec.base import partial_result
from aisec.metrics.robustness import (
    attack_success_rate,
    norm_summary,
    perturbation_norms,
    robust_accuracy,
    wilson_interval,
)
from aisec.params import Boolean, Interval, ListOf, OptionalOf, Options
from aisec.records import Finding, Result, Severity, severity_at

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.targets.base import Target

NORMS = ("linf", "l2", "l1")


@dataclass
class Perturbation:
    """What :meth:`EvasionAttack._perturb` returns for the points it was given."""

    x_adv: torch.Tensor
    """Adversarial inputs, same shape as the inputs given, within bounds."""
    queries: np.ndarray | None = None
    """Model queries spent per sample (black-box attacks)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Attack-specific metrics (e.g. per-stage robust accuracy)."""


@dataclass
class AttackContext:
    """Everything ``_perturb`` may need besides the points themselves."""

    target: Target
    eps: float | None
    norm: str
    params: dict[str, Any]
    generator: torch.Generator
    y_target: torch.Tensor | None = None
    """Target classes for targeted attacks (None when untargeted)."""


BASE_CONSTRAINTS = {
    "eps": OptionalOf(
        Interval(float, 0, None, closed="left", hint="For images in [0, 1], 8/255 is about 0.031.")
    ),
    "norm": Options(NORMS),
    "curve": OptionalOf(ListOf(Interval(float, 0, None, closed="left"))),
    "targeted": Boolean(),
    "target_class": OptionalOf(Interval(int, 0, None)),
    "keep_adversarials": Boolean(),
}
BASE_DEFAULTS: dict[str, Any] = {
    "eps": 0.1,
    "norm": "linf",
    "curve": None,
    "targeted": False,
    "target_class": None,
    "keep_adversarials": True,
}


class EvasionAttack(Attack):
    """Base of every evasion attack (digital, white- or black-box)."""

    family = "evasion"
    threats: ClassVar[tuple[str, ...]] = ("evasion-digital",)
    minimum_norm: ClassVar[bool] = False
    """True for attacks that search the smallest perturbation (C&W, DeepFool, FAB): success
    within a budget then means "adversarial and norm <= eps"."""
    supported_norms: ClassVar[tuple[str, ...]] = NORMS

    def validate(self, target: Target, data: Dataset | None, params: dict[str, Any]) -> None:
        """Check norms, target classes and the data set."""
        from aisec.errors import ParameterError

        super().validate(target, data, params)
        problems = []
        if params["norm"] not in self.supported_norms:
            problems.append(
                f"`norm` must be one of {', '.join(self.supported_norms)} for {self.name}; got {params['norm']!r}"
            )
        if params.get("eps") is None and not self.minimum_norm:
            problems.append(f"`eps` is required for {self.name}; give the perturbation budget")
        tc = params.get("target_class")
        if tc is not None and tc >= target.spec.n_classes:
            problems.append(f"`target_class` must be below {target.spec.n_classes}; got {tc}")
        if problems:
            raise ParameterError(self.id, problems)

    def _perturb(self, x: torch.Tensor, y: torch.Tensor, ctx: AttackContext) -> Perturbation:
        """Attack the given (still unbroken, correctly classified) points."""
        raise NotImplementedError

    # ----------------------------------------------------------------------------------------
    def _run(
        self, target: Target, data: Dataset | None, params: dict[str, Any], seed: int
    ) -> Result:
        assert data is not None
        x = torch.as_tensor(data.x)
        y = torch.as_tensor(data.y)
        n = len(y)
        clean_pred = torch.as_tensor(target.predict_labels(data.x))
        y_target = self._choose_targets(y, target.spec.n_classes, params, seed)
        correct = (clean_pred == y).numpy()
        if y_target is not None:
            correct &= (y_target != y).numpy()

        budget = params.get("eps")
        eps_list = sorted(
            set(params.get("curve") or []) | ({budget} if budget is not None else set())
        )
        if not eps_list:
            eps_list = [None]  # minimum-norm attack without a budget
        gen = torch.Generator().manual_seed(seed)
        broken = np.zeros(n, dtype=bool)
        x_adv = x.clone()
        found_adv = x.clone()
        success_at_budget = broken
        queries = np.zeros(n, dtype=np.int64)
        curve: list[dict[str, float]] = []
        extra: dict[str, Any] = {}
        for eps in eps_list:
            active = np.flatnonzero(correct & ~broken)
            if len(active):
                idx = torch.as_tensor(active)
                ctx = AttackContext(
                    target=target,
                    eps=eps,
                    norm=params["norm"],
                    params=params,
                    generator=gen,
                    y_target=None if y_target is None else y_target[idx],
                )
                out = self._perturb(x[idx], y[idx], ctx)
                cand = self._project_to_bounds(out.x_adv.detach().cpu(), target)
                hit = self._rescore(target, cand, y[idx], ctx.y_target)
                if self.minimum_norm and eps is not None:
                    hit &= self._norm_of(cand - x[idx], params["norm"]) <= eps * (1 + 1e-4) + 1e-7
                if out.queries is not None:
                    queries[active] += out.queries
                extra.update(out.extra)
                take = active[hit]
                broken[take] = True
                if eps is None or budget is None or eps <= budget:
                    x_adv[take] = cand[hit]
                if self.minimum_norm and (eps is None or eps == eps_list[0]):
                    # every point's first found adversarial, kept for the minimal-norm statistics
                    found_adv[active] = cand
            if eps is not None:
                curve.append(
                    {"eps": float(eps), "robust_accuracy": float(np.mean(correct & ~broken))}
                )
            if budget is not None and eps == budget:
                success_at_budget = broken.copy()
        success = success_at_budget if budget is not None else broken
        return self._package(
            data, x_adv, found_adv, correct, success, queries, curve, extra, params
        )

    # ----------------------------------------------------------------------------------------
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

    @staticmethod
    def _project_to_bounds(x: torch.Tensor, target: Target) -> torch.Tensor:
        lo, hi = target.spec.bounds
        return x.clamp(lo, hi).to(torch.float32)

    @staticmethod
    def _rescore(
        target: Target, x_adv: torch.Tensor, y: torch.Tensor, y_target: torch.Tensor | None
    ) -> np.ndarray:
        """Independent forward pass through the public API: the reported success."""
        pred = torch.as_tensor(target.predict_labels(x_adv.numpy()))
        ok = pred == y_target if y_target is not None else pred != y
        return ok.numpy()

    @staticmethod
    def _norm_of(d: torch.Tensor, norm: str) -> np.ndarray:
        flat = d.reshape(len(d), -1).double()
        if norm == "linf":
            return flat.abs().amax(1).numpy() if flat.shape[1] else np.zeros(len(d))
        if norm == "l2":
            return flat.norm(dim=1).numpy()
        return flat.abs().sum(1).numpy()

    def _package(
        self,
        data: Dataset,
        x_adv: torch.Tensor,
        found_adv: torch.Tensor,
        correct: np.ndarray,
        success: np.ndarray,
        queries: np.ndarray,
        curve: list[dict[str, float]],
        extra: dict[str, Any],
        params: dict[str, Any],
    ) -> Result:
        n = len(correct)
        xa = x_adv.numpy()
        norms = perturbation_norms(data.x, xa)
        found = perturbation_norms(data.x, found_adv.numpy()) if self.minimum_norm else norms
        robust = correct & ~success
        k_robust = int(robust.sum())
        lo, hi = wilson_interval(k_robust, n)
        linf = norm_summary(norms["linf"], success)
        l2 = norm_summary(norms["l2"], success)
        l1 = norm_summary(norms["l1"], success)
        metrics: dict[str, Any] = {
            "n": n,
            "eps": params.get("eps"),
            "norm": params["norm"],
            "targeted": bool(params.get("targeted")),
            "clean_accuracy": float(np.mean(correct)) if n else 0.0,
            "robust_accuracy": robust_accuracy(correct, success),
            "robust_accuracy_ci95": [lo, hi],
            "attack_success_rate": attack_success_rate(correct, success),
            "mean_linf": linf["mean"],
            "mean_l2": l2["mean"],
            "median_l2": l2["median"],
            "mean_l1": l1["mean"],
            "median_linf": linf["median"],
        }
        if curve:
            metrics["curve"] = curve
        if queries.any():
            attacked = correct
            metrics["queries"] = {
                "mean": float(queries[attacked].mean()) if attacked.any() else 0.0,
                "median": float(np.median(queries[attacked])) if attacked.any() else 0.0,
                "max": int(queries.max()),
                "total": int(queries.sum()),
            }
        if self.minimum_norm:
            mask = correct & (found[params["norm"]] > 0)
            metrics["minimal_perturbation"] = {
                "norm": params["norm"],
                "median": norm_summary(found[params["norm"]], mask)["median"],
                "mean": norm_summary(found[params["norm"]], mask)["mean"],
            }
        metrics.update(extra)
        per_sample = {
            "clean_correct": correct,
            "success": success,
            "linf": norms["linf"],
            "l2": norms["l2"],
            "l1": norms["l1"],
        }
        if self.minimum_norm:
            per_sample["minimal_norm"] = found[params["norm"]]
        if queries.any():
            per_sample["queries"] = queries
        artifacts = (
            {"x_adv": xa.astype(np.float32)} if params.get("keep_adversarials", True) else {}
        )
        return partial_result(metrics, per_sample, artifacts)

    # ----------------------------------------------------------------------------------------
    def findings(self, result: Result) -> list[Finding]:
        """Rule EVA-001 (docs/findings.md): severity from the relative accuracy drop.

        drop = (clean - robust) / clean at the configured budget:
        >= 0.9 critical, >= 0.5 high, >= 0.2 medium, >= 0.05 low, otherwise info.
        """
        if not result.ok:
            return []
        m = result.metrics
        clean, robust = float(m["clean_accuracy"]), float(m["robust_accuracy"])
        if m.get("eps") is None:
            return []
        drop = (clean - robust) / clean if clean > 0 else 0.0
        severity = evasion_severity(drop)
        what = "targeted" if m.get("targeted") else "untargeted"
        title = (
            f"{self.name} ({what}, {m['norm']} eps={m['eps']:g}) cuts accuracy from "
            f"{clean:.1%} to {robust:.1%}"
        )
        return [
            Finding(
                id=f"EVA-001:{result.target}:{result.test_id}:{m['norm']}:{m['eps']:g}",
                rule="EVA-001",
                title=title,
                severity=severity,
                target=result.target,
                test_id=result.test_id,
                threats=self.threats,
                evidence={
                    "clean_accuracy": clean,
                    "robust_accuracy": robust,
                    "relative_drop": drop,
                    "eps": m["eps"],
                    "norm": m["norm"],
                    "n": m["n"],
                    "robust_accuracy_ci95": m.get("robust_accuracy_ci95"),
                },
                recommendation=(
                    "Harden the model (adversarial training, input preprocessing with care for "
                    "gradient masking, certified defences) and re-assess with the ensemble attack."
                    if severity >= Severity.MEDIUM
                    else "Keep monitoring; re-assess with stronger attacks and larger budgets."
                ),
            )
        ]


def evasion_severity(relative_drop: float) -> Severity:
    """EVA-001 thresholds on the relative accuracy drop under attack."""
    return severity_at(
        relative_drop,
        {Severity.CRITICAL: 0.9, Severity.HIGH: 0.5, Severity.MEDIUM: 0.2, Severity.LOW: 0.05},
    )


def merged_constraints(**extra: Any) -> dict[str, Any]:
    """The base evasion constraints plus attack-specific ones."""
    return {**BASE_CONSTRAINTS, **extra}


def merged_defaults(**extra: Any) -> dict[str, Any]:
    """The base evasion defaults plus attack-specific ones."""
    return {**BASE_DEFAULTS, **extra}
