"""Natural-corruption robustness: accuracy under noise, blur, lighting and JPEG, severities 1-5.

The non-adversarial baseline of an evasion assessment: how much accuracy a model loses to
the distribution shifts a deployed camera produces anyway, with no adversary at all.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from aisec import progress
from aisec.base import Measurement, SecurityTest
from aisec.findings import FindingRule, Subject
from aisec.params import Interval, ListOf, Options, Param, declare
from aisec.records import Severity
from aisec.records.evasion import CorruptionCell, CorruptionOutcome
from aisec.records.outcome import encode
from aisec.registry import register
from aisec.targets.base import Capability
from aisec.targets.views import classifier

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.targets.base import Target

SEVERITY_PARAMS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1.0),
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    "jpeg": (80, 65, 58, 50, 40),
}
"""Per corruption, the parameter at severities 1-5: noise standard deviation (fraction of the
input range), blur sigma (pixels), contrast factor and JPEG quality take the CIFAR-10-C values
of Hendrycks and Dietterich (suited to small images); brightness is an additive shift of
0.1-0.5 of the input range (CIFAR-10-C shifts the HSV value channel by 0.05-0.3)."""

IMAGE_ONLY = frozenset({"gaussian_blur", "jpeg"})
"""Corruptions that need image inputs ``(C, H, W)`` or ``(H, W)``."""


def corrupt(
    x: np.ndarray,
    name: str,
    severity: int,
    bounds: tuple[float, float] = (0.0, 1.0),
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Apply corruption ``name`` at ``severity`` (1-5) to a batch ``x`` within ``bounds``.

    Arrays are processed in [0, 1] internally and mapped back to ``bounds``; the output is
    float32 and clipped to the bounds.
    """
    lo, hi = bounds
    u = (x.astype(np.float32) - lo) / (hi - lo)
    c = SEVERITY_PARAMS[name][severity - 1]
    out = _CORRUPTIONS[name](u, c, rng or np.random.default_rng(0))
    return (np.clip(out, 0.0, 1.0) * (hi - lo) + lo).astype(np.float32)


def _noise(u: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return u + rng.standard_normal(u.shape, dtype=np.float32) * c


def _brightness(u: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    return u + c


def _contrast(u: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    axes = tuple(range(2, u.ndim)) if u.ndim > 2 else (1,)
    mean = u.mean(axis=axes, keepdims=True)
    return (u - mean) * c + mean


def _blur(u: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    # Blur only the two spatial axes: (N, C, H, W) or (N, H, W).
    sig = (0,) * (u.ndim - 2) + (sigma, sigma)
    return gaussian_filter(u, sigma=sig, mode="reflect", truncate=3.0)


def _jpeg(u: np.ndarray, quality: float, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    imgs = u if u.ndim == 4 else u[:, None]
    out = np.empty_like(imgs)
    for i, img in enumerate(imgs):
        arr = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
        pil = Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0))
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=int(quality))
        buf.seek(0)
        dec = np.asarray(Image.open(buf), dtype=np.float32) / 255.0
        out[i] = dec[None] if dec.ndim == 2 else dec.transpose(2, 0, 1)
    return out if u.ndim == 4 else out[:, 0]


_CORRUPTIONS: dict[str, Callable[[np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "gaussian_noise": _noise,
    "gaussian_blur": _blur,
    "brightness": _brightness,
    "contrast": _contrast,
    "jpeg": _jpeg,
}
CORRUPTIONS = tuple(_CORRUPTIONS)
"""Names of the supported corruptions."""


def _is_image(shape: tuple[int, ...]) -> bool:
    return len(shape) == 2 or (len(shape) == 3 and shape[0] in (1, 3))


def _corruption_title(o: CorruptionOutcome, s: Subject) -> str:
    title = (
        f"Natural corruptions cut accuracy from {o.clean_accuracy:.1%} to "
        f"{o.mean_corruption_accuracy:.1%} on average"
    )
    if o.worst is not None:
        w = o.worst
        title += f" (worst: {w.corruption} at severity {w.severity}, {w.accuracy:.1%})"
    return title


COR_001: FindingRule[CorruptionOutcome] = FindingRule(
    rule="COR-001",
    outcome=CorruptionOutcome,
    measure=lambda o: o.relative_drop,
    thresholds={Severity.HIGH: 0.5, Severity.MEDIUM: 0.25, Severity.LOW: 0.1},
    title=_corruption_title,
    evidence=lambda o: {
        "clean_accuracy": o.clean_accuracy,
        "mean_corruption_accuracy": o.mean_corruption_accuracy,
        "relative_drop": o.relative_drop,
        "per_corruption_relative_drop": dict(o.per_corruption_relative_drop),
        "worst": encode(o.worst) if o.worst is not None else {},
        "n": o.n,
    },
    recommendation=(
        "Train with corruption augmentations (e.g. AugMix), validate the sensor pipeline, and "
        "monitor input quality in production."
    ),
    recommendation_below="Keep monitoring input quality; re-assess after model or sensor changes.",
)
"""Rule COR-001 (docs/findings.md): severity from the relative drop of the mean accuracy."""


@register
class Corruptions(SecurityTest):
    """Accuracy under natural corruptions at severities 1-5 (a non-adversarial baseline).

    Each corruption is applied to every sample at every requested severity with fixed
    parameters (:data:`SEVERITY_PARAMS`) and a seeded noise generator; the model's accuracy
    is measured on each corrupted copy. Reports accuracy per corruption and severity, the mean
    corruption accuracy (mCA, the mean over all cells) and its drop relative to clean accuracy.
    Blur and JPEG need images (1- or 3-channel); on other inputs they are skipped and listed in
    ``metrics["skipped"]``. Works for any target that reveals labels (torch or scikit-learn).

    Reference: Hendrycks and Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", ICLR 2019 (brightness is a shift in RGB here, not in HSV).
    """

    id = "evasion.corruptions"
    name = "Natural corruptions"
    family = "evasion"
    requires = frozenset({Capability.LABELS})
    threats: ClassVar[tuple[str, ...]] = ("natural-corruption",)
    references = ("Hendrycks and Dietterich, ICLR 2019, arXiv:1903.12261",)
    rules = (COR_001,)
    outcome_type = CorruptionOutcome
    parameters = declare(
        corruptions=Param(list(CORRUPTIONS), ListOf(Options(CORRUPTIONS)), "Corruptions to apply."),
        severities=Param([1, 2, 3, 4, 5], ListOf(Interval(int, 1, 5)), "Severities, 1 to 5."),
    )

    def check(self, target: Target, data: Any, params: dict[str, Any]) -> list[str]:
        """At least one corruption must apply to the target's inputs."""
        shape = tuple(classifier(target, self.id).spec.shape)
        if not _is_image(shape) and set(params["corruptions"]) <= IMAGE_ONLY:
            return [
                f"{', '.join(params['corruptions'])} need image inputs; add gaussian_noise, "
                f"brightness or contrast for inputs of shape {shape}"
            ]
        return []

    def _execute(
        self, base: Target, data: Dataset, params: dict[str, Any], seed: int
    ) -> Measurement:
        target = classifier(base, self.id)
        bounds = target.spec.bounds
        clean_correct = target.predict_labels(data.x) == data.y
        clean = float(clean_correct.mean()) if len(data) else 0.0
        image = _is_image(tuple(target.spec.shape))
        names = [c for c in dict.fromkeys(params["corruptions"]) if image or c not in IMAGE_ONLY]
        skipped = [c for c in dict.fromkeys(params["corruptions"]) if c not in names]
        severities = sorted(set(params["severities"]))
        rng = np.random.default_rng(seed)
        cells: list[CorruptionCell] = []
        by_name: dict[str, tuple[float, ...]] = {}
        correct_count = np.zeros(len(data))
        for k, name in enumerate(names):
            accs = []
            progress.count(name, k + 1, len(names))
            for s in severities:
                xc = corrupt(data.x, name, s, bounds, rng)
                ok = target.predict_labels(xc) == data.y
                correct_count += ok
                acc = float(ok.mean()) if len(data) else 0.0
                accs.append(acc)
                cells.append(CorruptionCell(name, s, acc))
            by_name[name] = tuple(accs)
        mca = float(np.mean([c.accuracy for c in cells])) if cells else clean
        outcome = CorruptionOutcome(
            n=len(data),
            clean_accuracy=clean,
            severities=tuple(severities),
            accuracy=by_name,
            per_corruption=tuple(cells),
            mean_corruption_accuracy=mca,
            relative_drop=(clean - mca) / clean if clean > 0 else 0.0,
            per_corruption_relative_drop={
                k: (clean - float(np.mean(v))) / clean if clean > 0 else 0.0
                for k, v in by_name.items()
            },
            worst=min(cells, key=lambda c: c.accuracy, default=None),
            skipped=tuple(skipped),
        )
        per_sample = {
            "clean_correct": clean_correct,
            "corrupted_accuracy": correct_count / max(1, len(cells)),
        }
        return Measurement(outcome, per_sample)


def corruption_severity(relative_drop: float) -> Severity:
    """COR-001's severity for the relative drop of mean corruption accuracy."""
    return COR_001.severity(relative_drop)
