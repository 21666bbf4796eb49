"""Pre-processing defences as wrappers around a target, and the adaptive views that attack them.

A :class:`Preprocessed` target answers ``model(transform(x))``, as a serving pipeline with an
input filter does. The four transforms are the classic ones whose robustness adaptive attacks
erased (Athalye, Carlini & Wagner, ICML 2018; Tramer et al., NeurIPS 2020):

- ``bit-depth``: colour-depth reduction to ``bits`` bits (Xu et al., NDSS 2018);
- ``jpeg``: JPEG-like compression: 8x8 block DCT, quantisation by the standard luminance table
  scaled to ``quality``, inverse DCT (Dziugaite et al. 2016; Das et al. 2017);
- ``median``: median smoothing over a ``kernel`` x ``kernel`` window (Xu et al., NDSS 2018);
- ``randomization``: random resizing and padding (Xie et al., ICLR 2018), a fresh draw per
  query.

Quantisation and rounding have a zero gradient almost everywhere, and a median filter run as a
pipeline step (OpenCV, PIL) passes none back, so the deployed wrapper gives the attacker the
gradient a white-box evaluation really sees: zero for the first three (shattered gradients),
and a gradient of one random draw for the last (stochastic gradients). :meth:`Preprocessed.adaptive`
returns the view that attacks them properly: BPDA (the transform's backward pass replaced by the
identity, Athalye et al. section 4.1) and EoT over ``samples`` random draws (section 4.2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from aisec.errors import ParameterError
from aisec.targets.base import Capability, InputSpec, OutputMode, capabilities_for, shape_output

if TYPE_CHECKING:
    import torch

    from aisec.targets.views import Differentiable

PREPROCESSORS = ("bit-depth", "jpeg", "median", "randomization")
"""Pre-processing defences :func:`make_preprocessor` knows."""

# the IJG standard luminance quantisation table (JPEG Annex K, table K.1)
_LUMINANCE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)


@dataclass(frozen=True)
class Preprocessor:
    """One input transform: its name, settings, and whether it is random or differentiable."""

    name: str
    """``bit-depth``, ``jpeg``, ``median`` or ``randomization``."""
    settings: tuple[tuple[str, Any], ...]
    """Its parameters, for reports."""
    apply: Callable[[torch.Tensor, tuple[float, float], torch.Generator], torch.Tensor]
    """``apply(x, bounds, generator)``: the transformed batch."""
    random: bool = False
    """A fresh random draw per query (EoT applies)."""
    differentiable: bool = False
    """Its autograd gradient is informative (otherwise zero: BPDA applies)."""

    def label(self) -> str:
        """E.g. ``bit-depth (bits 3)``."""
        inner = ", ".join(f"{k} {v}" for k, v in self.settings)
        return f"{self.name} ({inner})" if inner else self.name


def make_preprocessor(name: str, **settings: Any) -> Preprocessor:
    """The named transform with its settings (defaults: 3 bits, quality 50, kernel 3, 15%)."""
    if name == "bit-depth":
        bits = int(settings.get("bits", 3))
        if not 1 <= bits <= 16:
            raise ParameterError(
                "pre-processing defence", [f"bit-depth needs 1 <= bits <= 16; got {bits}"]
            )
        return Preprocessor(name, (("bits", bits),), lambda x, b, g: bit_depth(x, b, bits))
    if name == "jpeg":
        quality = int(settings.get("quality", 50))
        if not 1 <= quality <= 100:
            raise ParameterError(
                "pre-processing defence", [f"jpeg needs 1 <= quality <= 100; got {quality}"]
            )
        return Preprocessor(name, (("quality", quality),), lambda x, b, g: jpeg_like(x, b, quality))
    if name == "median":
        kernel = int(settings.get("kernel", 3))
        if kernel < 2:
            raise ParameterError(
                "pre-processing defence", [f"median needs kernel >= 2; got {kernel}"]
            )
        return Preprocessor(name, (("kernel", kernel),), lambda x, b, g: median_filter(x, kernel))
    if name == "randomization":
        shrink = float(settings.get("shrink", 0.15))
        if not 0 < shrink < 1:
            raise ParameterError(
                "pre-processing defence", [f"randomization needs 0 < shrink < 1; got {shrink}"]
            )
        return Preprocessor(
            name,
            (("shrink", shrink),),
            lambda x, b, g: random_resize_pad(x, b, shrink, g),
            random=True,
            differentiable=True,
        )
    raise ParameterError(
        "pre-processing defence",
        [f"unknown pre-processing defence {name!r}; use one of {', '.join(PREPROCESSORS)}"],
    )


def bit_depth(x: torch.Tensor, bounds: tuple[float, float], bits: int) -> torch.Tensor:
    """Round every value to one of ``2**bits`` evenly spaced levels of ``bounds``."""
    lo, hi = bounds
    levels = 2**bits - 1
    return ((x - lo) / (hi - lo) * levels).round().clamp(0, levels) / levels * (hi - lo) + lo


def _dct_matrix(n: int) -> torch.Tensor:
    import torch

    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    m = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m.float()


def _quant_table(quality: int) -> torch.Tensor:
    """The luminance table scaled to ``quality`` as libjpeg scales it."""
    import torch

    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    table = torch.tensor(_LUMINANCE, dtype=torch.float32)
    return ((table * scale + 50) // 100).clamp(1, 255)


def jpeg_like(x: torch.Tensor, bounds: tuple[float, float], quality: int) -> torch.Tensor:
    """JPEG's lossy step on every channel: 8x8 block DCT, quantise, dequantise, inverse DCT.

    Images whose sides are not multiples of 8 are padded by replication and cropped back.
    """
    import torch.nn.functional as F

    lo, hi = bounds
    n, c, h, w = x.shape
    ph, pw = (-h) % 8, (-w) % 8
    z = (x - lo) / (hi - lo) * 255.0 - 128.0
    if ph or pw:
        z = F.pad(z, (0, pw, 0, ph), mode="replicate")
    hh, ww = z.shape[2] // 8, z.shape[3] // 8
    blocks = z.reshape(n, c, hh, 8, ww, 8).permute(0, 1, 2, 4, 3, 5)
    d = _dct_matrix(8).to(x.device)
    q = _quant_table(quality).to(x.device)
    coef = d @ blocks @ d.T
    coef = (coef / q).round() * q
    back = (d.T @ coef @ d).permute(0, 1, 2, 4, 3, 5).reshape(n, c, hh * 8, ww * 8)
    back = back[:, :, :h, :w]
    return ((back + 128.0) / 255.0 * (hi - lo) + lo).clamp(lo, hi)


def median_filter(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """Per-channel median over a ``kernel`` x ``kernel`` window (reflect padding)."""
    import torch.nn.functional as F

    n, c, h, w = x.shape
    before = (kernel - 1) // 2
    after = kernel - 1 - before
    padded = F.pad(x, (before, after, before, after), mode="reflect")
    patches = padded.unfold(2, kernel, 1).unfold(3, kernel, 1)
    return patches.reshape(n, c, h, w, kernel * kernel).median(dim=-1).values


def random_resize_pad(
    x: torch.Tensor, bounds: tuple[float, float], shrink: float, gen: torch.Generator
) -> torch.Tensor:
    """Shrink each image by a random factor between ``1 - shrink`` and 1 and place it at a random
    offset, the rest filled with the lower bound: Xie et al.'s resize-and-pad for a model whose
    input size is fixed (one batched, bilinear and differentiable resampling)."""
    import torch
    import torch.nn.functional as F

    n = len(x)
    if not n:
        return x
    scale = 1.0 - shrink * torch.rand(n, generator=gen)
    room = 1.0 - scale
    shift = (torch.rand((n, 2), generator=gen) * 2 - 1) * room[:, None]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / scale
    theta[:, :, 2] = -shift / scale[:, None]
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    lo = bounds[0]
    moved = F.grid_sample(x - lo, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved + lo


@dataclass
class Preprocessed:
    """A differentiable target behind an input transform, as deployed or as attacked.

    ``gradient`` says what the backward pass is: ``deployed`` (what autograd gives: zero
    through quantisation and pipeline filters, one draw's gradient for random transforms),
    ``bpda`` (identity backward through the transform) or ``exact`` (autograd through the
    transform). ``samples`` above 1 answers the mean softmax over that many random draws (EoT).
    """

    base: Differentiable
    preprocessor: Preprocessor
    gradient: str = "deployed"
    samples: int = 1
    seed: int = 0
    output_mode: OutputMode = OutputMode.LOGITS
    name: str = ""
    _generator: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        import torch

        if self.gradient not in ("deployed", "bpda", "exact"):
            raise ParameterError(
                "pre-processing defence",
                [f"gradient must be deployed, bpda or exact; got {self.gradient!r}"],
            )
        self.output_mode = OutputMode(self.output_mode)
        self.name = self.name or f"{self.base.name}+{self.preprocessor.name}"
        if self._generator is None:
            self._generator = torch.Generator().manual_seed(self.seed)

    @property
    def spec(self) -> InputSpec:
        """The base target's spec."""
        return self.base.spec

    @property
    def batch_size(self) -> int:
        """The base target's batch size."""
        return self.base.batch_size

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Gradients and scores unless the output mode hides them."""
        return capabilities_for(self.output_mode, differentiable=True, trainable=False)

    @property
    def queries(self) -> int:
        """Queries the base target has answered."""
        return self.base.queries

    def reset_queries(self) -> None:
        """Zero the base target's query counter."""
        self.base.reset_queries()

    def _transformed(self, x: torch.Tensor) -> torch.Tensor:
        t = self.preprocessor.apply(x, self.spec.bounds, self._generator)
        if self.gradient == "bpda" or (
            self.gradient == "deployed" and not self.preprocessor.differentiable
        ):
            if self.gradient == "bpda":
                return x + (t - x).detach()
            return t.detach() + 0.0 * x  # no gradient reaches the input, as deployed
        return t

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the transformed batch (mean softmax over draws, as log, when ``samples``
        is above 1); counts queries on the base target."""
        import torch

        if self.samples <= 1:
            return self.base.logits(self._transformed(x))
        probs = torch.stack(
            [torch.softmax(self.base.logits(self._transformed(x)), 1) for _ in range(self.samples)]
        ).mean(0)
        return probs.clamp_min(1e-30).log()

    def logits_batched(self, x: torch.Tensor) -> torch.Tensor:
        """Logits without gradient, in batches of ``batch_size``."""
        from aisec.targets.torch import logits_in_batches

        return logits_in_batches(self.logits, x, self.batch_size, self.spec.n_classes)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores or labels for a numpy batch, as the output mode reveals."""
        logits = self.logits_batched(self._tensor(x)).float().cpu().numpy()
        return shape_output(logits, self.output_mode, scores_are_logits=True)

    def predict_labels(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels for a numpy batch."""
        return self.logits_batched(self._tensor(x)).argmax(1).cpu().numpy()

    def with_output_mode(self, mode: OutputMode | str) -> Preprocessed:
        """The same wrapper revealing only ``mode``."""
        return replace(self, output_mode=OutputMode(mode))

    def adaptive(self, samples: int = 16) -> Preprocessed:
        """The view an adaptive attacker uses: BPDA through non-differentiable transforms, EoT
        over ``samples`` draws of random ones (its own generator, so it does not replay the
        deployment's draws)."""
        import torch

        return replace(
            self,
            gradient="exact" if self.preprocessor.differentiable else "bpda",
            samples=samples if self.preprocessor.random else 1,
            _generator=torch.Generator().manual_seed(self.seed + 7919),
        )

    def describe(self) -> dict[str, Any]:
        """Facts about the wrapper for reports."""
        return {
            **self.base.describe(),
            "name": self.name,
            "preprocessing": self.preprocessor.label(),
            "gradient": self.gradient,
            "eot_samples": self.samples,
        }

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        import torch

        from aisec.targets.base import check_inputs

        check_inputs(np.asarray(x), None, self.spec)
        return torch.as_tensor(np.asarray(x, dtype=np.float32))
