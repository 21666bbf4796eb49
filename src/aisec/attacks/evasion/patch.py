"""Universal adversarial patch trained with Expectation over Transformation (EoT).

The physical-world evasion case: a printable sticker that, placed anywhere in the camera's
view under changing viewpoint and lighting, makes the classifier mislabel (or label as a
chosen class) whatever it is next to. The patch is universal: it is trained on one part of the
given data and evaluated on the held-out rest, under conditions it was never trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from aisec import progress
from aisec.attacks.base import Attack
from aisec.attacks.evasion.transforms import (
    TRAIN_SPACE,
    TransformParams,
    TransformSpace,
    apply_patch,
    held_out_spaces,
)
from aisec.base import Measurement
from aisec.findings import FindingRule, Subject
from aisec.params import Boolean, Interval, OptionalOf, Param, declare
from aisec.records import Severity
from aisec.records.evasion import PatchOutcome, TransformationResult
from aisec.records.outcome import encode
from aisec.registry import register
from aisec.targets.base import Capability
from aisec.targets.views import Differentiable, classifier, differentiable

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.targets.base import Target

MARGIN = 2.0
"""Untargeted loss: the true-class logit is pushed this far below the best other logit."""

NO_EOT_SPACE = TransformSpace(
    rotation=((0.0, 0.0),),
    scale=((1.0, 1.0),),
    brightness=((0.0, 0.0),),
    contrast=((1.0, 1.0),),
    noise=((0.0, 0.0),),
    blur=((0.0, 0.0),),
)
"""Training space with ``eot: false``: random positions only (an ablation of EoT)."""

_EVAL_CHUNK = 512


def printable_palette(channels: int) -> torch.Tensor:
    """A fixed palette of colours a consumer printer reproduces: ``(K, channels)``.

    RGB: the 27 combinations of the levels 0.1, 0.5 and 0.9 (printers cannot reach pure
    black, white or saturated primaries); other channel counts: five grey levels.
    """
    levels = torch.tensor([0.1, 0.5, 0.9])
    if channels == 3:
        return torch.cartesian_prod(levels, levels, levels)
    grey = torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9])
    return grey.view(-1, 1).expand(-1, channels).contiguous()


def non_printability(patch: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    """Mean distance from each patch pixel to its nearest printable colour.

    The nearest-colour form of the non-printability score (Thys et al., CVPR-W 2019) of
    Sharif et al. (CCS 2016); zero when every pixel is printable.
    """
    pixels = patch.reshape(patch.shape[0], -1).T  # (P, C)
    dist = torch.cdist(pixels.unsqueeze(0), palette.unsqueeze(0)).squeeze(0)  # (P, K)
    return dist.min(1).values.mean()


def total_variation(patch: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring patch pixels (smooth patches print better)."""
    dh = (patch[:, 1:, :] - patch[:, :-1, :]).abs().mean()
    dw = (patch[:, :, 1:] - patch[:, :, :-1]).abs().mean()
    return dh + dw


def patch_side(size: float, image_hw: tuple[int, int]) -> int:
    """Side of a square patch covering ``size`` of the image area (at least 1 pixel)."""
    h, w = image_hw
    return max(1, min(h, w, round(math.sqrt(size * h * w))))


def excess_success(o: PatchOutcome) -> float:
    """The held-out success the adversarial content adds over a random patch."""
    return max(0.0, o.success_rate - o.random_patch_success_rate)


def _patch_title(o: PatchOutcome, s: Subject) -> str:
    what = f"targeted to class {o.target_class}" if o.targeted else "untargeted"
    return (
        f"A printable patch covering {o.patch_fraction:.0%} of the image ({what}) fools the "
        f"model on {o.success_rate:.0%} of held-out images under unseen conditions "
        f"(random patch: {o.random_patch_success_rate:.0%})"
    )


def _patch_evidence(o: PatchOutcome) -> dict[str, Any]:
    worst = max(o.per_transformation, key=lambda r: r.success_rate, default=None)
    return {
        "success_rate": o.success_rate,
        "random_patch_success_rate": o.random_patch_success_rate,
        "excess_success": excess_success(o),
        "clean_accuracy": o.clean_accuracy,
        "accuracy_with_patch": o.accuracy_with_patch,
        "patch_fraction": o.patch_fraction,
        "targeted": o.targeted,
        "target_class": o.target_class,
        "per_transformation": [encode(r) for r in o.per_transformation],
        "most_effective": worst.transformation if worst else None,
        "n_eval": o.n_eval,
    }


PHY_001: FindingRule[PatchOutcome] = FindingRule(
    rule="PHY-001",
    outcome=PatchOutcome,
    measure=excess_success,
    thresholds={
        Severity.CRITICAL: 0.75,
        Severity.HIGH: 0.5,
        Severity.MEDIUM: 0.25,
        Severity.LOW: 0.1,
    },
    title=_patch_title,
    evidence=_patch_evidence,
    key=lambda o: f"t{o.target_class}" if o.targeted else "u",
    recommendation=(
        "Train with patch-style occlusions (adversarial patch training), add a patch detector "
        "or certified patch defence, and fuse other sensors before acting."
    ),
    recommendation_below="Keep monitoring; re-assess with larger patches and more training steps.",
)
"""Rule PHY-001 (docs/findings.md): severity from the held-out success the content buys."""


@register
class AdversarialPatch(Attack):
    """A universal adversarial patch, trained with EoT and evaluated on held-out conditions.

    The data are split (seeded, stratified) into a training part (``train_fraction``) and a
    held-out part. The patch (a square covering ``size`` of the image area) is optimised with
    Adam for ``steps`` steps; every step pastes it into a batch of training images under fresh
    random conditions (position, rotation, scale, brightness/contrast, noise, blur; see
    :data:`aisec.attacks.evasion.transforms.TRAIN_SPACE`) and follows the gradient of a loss
    through the whole rendering. Untargeted, the loss pushes the true-class logit below the
    best other one; targeted, it is the cross-entropy to ``target_class``. ``tv_weight`` adds
    total variation and ``nps_weight`` a non-printability score.

    Evaluation uses only held-out images, under transformation families the patch never saw
    (positions on the other cells of a checkerboard; rotations of 25-40 degrees; scales
    0.65-0.75 and 1.25-1.4; stronger lighting changes; more noise; more blur; and all at once).
    Success counts images classified correctly under the same conditions without the patch
    (targeted: whose label is not the target) that the patch turns into errors (targeted: into
    the target class). A patch of uniform random pixels, of the same size and under the same
    conditions, is the baseline: the gap between the two is what the adversarial content buys.

    References: Brown et al., "Adversarial Patch", arXiv:1712.09665, 2017; Athalye et al.,
    "Synthesizing Robust Adversarial Examples", ICML 2018; Sharif et al., CCS 2016 (printability);
    Thys et al., CVPR Workshops 2019 (total variation and NPS for printed patches).
    """

    id = "evasion.patch"
    name = "Adversarial patch (EoT)"
    family = "evasion"
    requires = frozenset({Capability.GRADIENTS})
    threats: ClassVar[tuple[str, ...]] = ("evasion-physical",)
    references = (
        "Brown et al., Adversarial Patch, arXiv:1712.09665, 2017",
        "Athalye et al., Synthesizing Robust Adversarial Examples, ICML 2018, arXiv:1707.07397",
        "Sharif et al., Accessorize to a Crime, CCS 2016",
        "Thys et al., Fooling automated surveillance cameras, CVPR Workshops 2019",
    )
    rules = (PHY_001,)
    outcome_type = PatchOutcome
    parameters = declare(
        size=Param(
            0.1,
            Interval(float, 0, 0.5, closed="right", hint="0.1 covers a tenth of the image."),
            "Fraction of the image area the square patch covers.",
        ),
        steps=Param(250, Interval(int, 1, 100_000), "Adam steps of patch training."),
        lr=Param(0.05, Interval(float, 0, 1, closed="right"), "Adam learning rate (of the range)."),
        batch_size=Param(64, Interval(int, 1, 4096), "Images per training step."),
        train_fraction=Param(
            0.5, Interval(float, 0, 1, closed="neither"), "Share of the data the patch trains on."
        ),
        targeted=Param(False, Boolean(), "Force `target_class` instead of any error."),
        target_class=Param(
            None, OptionalOf(Interval(int, 0, None)), "The class a targeted patch forces."
        ),
        tv_weight=Param(0.0, Interval(float, 0, None), "Weight of total variation."),
        nps_weight=Param(0.0, Interval(float, 0, None), "Weight of non-printability."),
        eot=Param(True, Boolean(), "Train under random conditions (EoT), not positions only."),
        eval_repeats=Param(2, Interval(int, 1, 100), "Draws of conditions per family."),
        n_examples=Param(8, Interval(int, 0, 64), "Patched examples kept for the report."),
    )

    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """Images only; a target class for targeted patches; enough data for both parts."""
        spec = classifier(target, self.id).spec
        problems = []
        if len(spec.shape) != 3:
            problems.append(
                f"needs image inputs (C, H, W); target {target.name!r} takes {spec.shape}"
            )
        tc = params.get("target_class")
        if params["targeted"] and tc is None:
            problems.append(
                "`targeted: true` needs `target_class`, the class the patch should force"
            )
        if tc is not None and tc >= spec.n_classes:
            problems.append(f"`target_class` must be below {spec.n_classes}; got {tc}")
        if len(data) < 2:
            problems.append(
                f"needs at least 2 samples (one to train, one to evaluate); got {len(data)}"
            )
        return problems

    # ----------------------------------------------------------------------------------------
    def _execute(
        self, target: Target, data: Dataset, params: dict[str, Any], seed: int
    ) -> Measurement:
        model = differentiable(target, self.id)
        x = torch.as_tensor(data.x, dtype=torch.float32)
        y = torch.as_tensor(data.y, dtype=torch.long)
        train_idx, eval_idx = _split(data.y, params["train_fraction"], seed)
        c, h, w = x.shape[1:]
        side = patch_side(params["size"], (h, w))
        y_t = int(params["target_class"]) if params["targeted"] else None
        bounds = model.spec.bounds

        gen = torch.Generator().manual_seed(seed)
        space = TRAIN_SPACE if params["eot"] else NO_EOT_SPACE
        patch, losses = self._train(
            model, x[train_idx], y[train_idx], y_t, side, space, params, gen
        )

        eval_gen = torch.Generator().manual_seed(seed + 1)
        lo, hi = bounds
        random_patch = lo + (hi - lo) * torch.rand((c, side, side), generator=eval_gen)
        x_ev, y_ev = x[eval_idx], y[eval_idx]
        clean_pred = _predict(model, x_ev)
        rows = []
        pooled = np.zeros(
            4, dtype=np.int64
        )  # eligible, adv successes, random successes, adv correct
        pooled_n = 0
        per_image = np.zeros(len(eval_idx))
        first_combined: tuple[TransformParams, np.ndarray] | None = None
        for family, fam_space in held_out_spaces(TRAIN_SPACE).items():
            stats = np.zeros(5, dtype=np.int64)  # eligible, adv, random, adv correct, clean correct
            for _ in range(params["eval_repeats"]):
                tp = fam_space.sample(len(x_ev), (side, side), (h, w), eval_gen)
                s = _score(model, x_ev, y_ev, patch, random_patch, tp, y_t)
                stats += [
                    s.eligible.sum(),
                    s.adv_hit.sum(),
                    s.random_hit.sum(),
                    (s.adv_pred == y_ev.numpy()).sum(),
                    (s.clean_pred == y_ev.numpy()).sum(),
                ]
                per_image += s.adv_hit
                adv_pred = s.adv_pred
                if family == "combined" and first_combined is None:
                    first_combined = (tp, adv_pred)
            n_seen = len(x_ev) * params["eval_repeats"]
            rows.append(
                {
                    "transformation": family,
                    "success_rate": _rate(stats[1], stats[0]),
                    "random_patch_success_rate": _rate(stats[2], stats[0]),
                    "clean_accuracy": _rate(stats[4], n_seen),
                    "accuracy_with_patch": _rate(stats[3], n_seen),
                    "n": int(stats[0]),
                }
            )
            pooled += stats[:4]
            pooled_n += n_seen
        in_dist = _in_distribution(
            model, x_ev, y_ev, patch, random_patch, space, side, y_t, eval_gen
        )
        train_hit = _in_distribution(
            model, x[train_idx], y[train_idx], patch, random_patch, space, side, y_t, eval_gen
        )
        n_families = len(rows)
        unit_patch = (patch - lo) / (hi - lo)
        outcome = PatchOutcome(
            n=len(data),
            n_train=len(train_idx),
            n_eval=len(eval_idx),
            targeted=y_t is not None,
            target_class=y_t,
            patch_side=side,
            patch_fraction=side * side / (h * w),
            clean_accuracy=float((clean_pred == y_ev.numpy()).mean()),
            accuracy_with_patch=_rate(pooled[3], pooled_n),
            success_rate=_rate(pooled[1], pooled[0]),
            attack_success_rate=_rate(pooled[1], pooled[0]),
            random_patch_success_rate=_rate(pooled[2], pooled[0]),
            per_transformation=tuple(TransformationResult(**r) for r in rows),
            in_distribution_success_rate=in_dist["success_rate"],
            in_distribution_random_patch_success_rate=in_dist["random_patch_success_rate"],
            train_success_rate=train_hit["success_rate"],
            eot=bool(params["eot"]),
            steps=int(params["steps"]),
            # Both measured on the patch rescaled to [0, 1], whatever the input bounds.
            total_variation=float(total_variation(unit_patch)),
            non_printability=float(non_printability(unit_patch, printable_palette(c))),
            training_loss=tuple(losses),
        )
        held_out = np.zeros(len(data), dtype=bool)
        held_out[eval_idx] = True
        success_fraction = np.zeros(len(data))
        success_fraction[eval_idx] = per_image / (n_families * params["eval_repeats"])
        clean_correct = _predict(model, x) == data.y
        artifacts = {
            "patch": patch.numpy().astype(np.float32),
            "random_patch": random_patch.numpy(),
        }
        k = min(params["n_examples"], len(eval_idx))
        if k and first_combined is not None:
            tp, adv_pred = first_combined
            sub = tp.take(slice(0, k))
            with torch.no_grad():
                artifacts["examples"] = apply_patch(x_ev[:k], patch, sub, bounds).numpy()
                artifacts["examples_clean"] = apply_patch(x_ev[:k], None, sub, bounds).numpy()
            artifacts["example_labels"] = y_ev[:k].numpy()
            artifacts["example_predictions"] = adv_pred[:k].astype(np.int64)
        per_sample = {
            "held_out": held_out,
            "clean_correct": clean_correct,
            "success_fraction": success_fraction,
        }
        return Measurement(outcome, per_sample, artifacts)

    def _train(
        self,
        target: Differentiable,
        x: torch.Tensor,
        y: torch.Tensor,
        y_t: int | None,
        side: int,
        space: TransformSpace,
        params: dict[str, Any],
        gen: torch.Generator,
    ) -> tuple[torch.Tensor, list[float]]:
        """Adam on the patch pixels through the EoT rendering; returns the patch and loss curve."""
        lo, hi = target.spec.bounds
        c, h, w = x.shape[1:]
        patch = (lo + (hi - lo) * torch.rand((c, side, side), generator=gen)).requires_grad_(True)
        opt = torch.optim.Adam([patch], lr=params["lr"] * (hi - lo))
        palette = lo + (hi - lo) * printable_palette(c)
        bs = min(params["batch_size"], len(x))
        losses: list[float] = []
        running = 0.0
        log_every = max(1, params["steps"] // 20)
        for step in range(params["steps"]):
            progress.count("patch step", step + 1, params["steps"])
            idx = torch.randint(0, len(x), (bs,), generator=gen)
            tp = space.sample(bs, (side, side), (h, w), gen)
            logits = target.logits(apply_patch(x[idx], patch, tp, (lo, hi)))
            loss = patch_loss(logits, y[idx], y_t)
            if params["tv_weight"]:
                loss = loss + params["tv_weight"] * total_variation(patch)
            if params["nps_weight"]:
                loss = loss + params["nps_weight"] * non_printability(patch, palette)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                patch.clamp_(lo, hi)
            running += float(loss.detach())
            if (step + 1) % log_every == 0:
                losses.append(running / log_every)
                running = 0.0
        return patch.detach(), losses


def patch_severity(excess: float) -> Severity:
    """PHY-001's severity for the success a patch adds over a random one."""
    return PHY_001.severity(excess)


def patch_loss(logits: torch.Tensor, y: torch.Tensor, y_t: int | None) -> torch.Tensor:
    """Targeted: cross-entropy to ``y_t``. Untargeted: hinge on the true-class logit margin."""
    if y_t is not None:
        return F.cross_entropy(logits, torch.full_like(y, y_t))
    true = logits.gather(1, y.view(-1, 1)).squeeze(1)
    other = logits.scatter(1, y.view(-1, 1), float("-inf")).amax(1)
    return F.relu(true - other + MARGIN).mean()


def _split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split into (train, held-out), each non-empty."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        k = round(len(idx) * fraction)
        train.extend(idx[:k])
        held.extend(idx[k:])
    train_a, held_a = (
        np.sort(np.asarray(train, dtype=np.int64)),
        np.sort(np.asarray(held, dtype=np.int64)),
    )
    if not len(train_a):
        train_a, held_a = held_a[:1], held_a[1:]
    elif not len(held_a):
        train_a, held_a = train_a[:-1], train_a[-1:]
    return train_a, held_a


def _rate(k: int | np.integer, n: int | np.integer) -> float:
    return float(k) / float(n) if n else 0.0


def _predict(target: Differentiable, x: torch.Tensor) -> np.ndarray:
    return target.logits_batched(x).argmax(1).cpu().numpy()


def _predict_under(
    target: Differentiable, x: torch.Tensor, patch: torch.Tensor | None, tp: TransformParams
) -> np.ndarray:
    bounds = target.spec.bounds
    out = []
    with torch.no_grad():
        for i in range(0, len(x), _EVAL_CHUNK):
            sl = slice(i, i + _EVAL_CHUNK)
            out.append(_predict(target, apply_patch(x[sl], patch, tp.take(sl), bounds)))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


@dataclass
class _Scores:
    clean_pred: np.ndarray
    adv_pred: np.ndarray
    eligible: np.ndarray
    """Correct without the patch under the same conditions (targeted: and not the target)."""
    adv_hit: np.ndarray
    random_hit: np.ndarray


def _score(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    patch: torch.Tensor,
    random_patch: torch.Tensor,
    tp: TransformParams,
    y_t: int | None,
) -> _Scores:
    """Predictions without, with the patch and with the random patch under the same conditions."""
    yn = y.numpy()
    clean = _predict_under(target, x, None, tp)
    adv = _predict_under(target, x, patch, tp)
    rnd = _predict_under(target, x, random_patch, tp)
    ok = clean == yn
    if y_t is None:
        return _Scores(clean, adv, ok, ok & (adv != yn), ok & (rnd != yn))
    ok &= yn != y_t
    return _Scores(clean, adv, ok, ok & (adv == y_t), ok & (rnd == y_t))


def _in_distribution(
    target: Differentiable,
    x: torch.Tensor,
    y: torch.Tensor,
    patch: torch.Tensor,
    random_patch: torch.Tensor,
    space: TransformSpace,
    side: int,
    y_t: int | None,
    gen: torch.Generator,
) -> dict[str, float]:
    tp = space.sample(len(x), (side, side), (x.shape[-2], x.shape[-1]), gen)
    s = _score(target, x, y, patch, random_patch, tp, y_t)
    return {
        "success_rate": _rate(s.adv_hit.sum(), s.eligible.sum()),
        "random_patch_success_rate": _rate(s.random_hit.sum(), s.eligible.sum()),
    }
