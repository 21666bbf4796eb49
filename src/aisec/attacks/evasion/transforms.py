"""Expectation-over-Transformation (EoT) for physical-world patches: sample, place, perturb.

A :class:`TransformSpace` describes a distribution of physical conditions: where the patch
sits in the image (position), how it is rotated and scaled, the lighting (brightness and
contrast), sensor noise and defocus blur. :meth:`TransformSpace.sample` draws a batch of
:class:`TransformParams` from a ``torch.Generator`` (seeded, so evaluations repeat exactly),
and :func:`apply_patch` renders a patch into a batch of images under those parameters. Every
step is a batched tensor operation that is differentiable in the patch, so an optimiser can
train the patch through it (Athalye et al., "Synthesizing Robust Adversarial Examples",
ICML 2018).

Ranges are unions of intervals, so a held-out space can cover values disjoint from the
training space (e.g. rotations of 25-40 degrees when training saw at most 20).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch
import torch.nn.functional as F

Ranges = tuple[tuple[float, float], ...]
"""A union of closed intervals ``((low, high), ...)`` sampled in proportion to their length."""

BLUR_TAPS = 5
"""Width of the separable Gaussian blur kernel (covers +-2 sigma up to sigma 1)."""


@dataclass(frozen=True)
class TransformSpace:
    """A distribution of physical conditions for a patch; every field is a union of intervals."""

    rotation: Ranges = ((-20.0, 20.0),)
    """In-plane rotation of the patch, degrees."""
    scale: Ranges = ((0.8, 1.2),)
    """Patch side relative to its nominal side."""
    brightness: Ranges = ((-0.1, 0.1),)
    """Additive brightness, as a fraction of the input range."""
    contrast: Ranges = ((0.8, 1.2),)
    """Contrast factor around mid-grey."""
    noise: Ranges = ((0.0, 0.02),)
    """Standard deviation of Gaussian sensor noise, as a fraction of the input range."""
    blur: Ranges = ((0.0, 0.5),)
    """Sigma of the Gaussian defocus blur, pixels."""
    position_cells: int = 4
    """Patch centres are drawn from a ``cells x cells`` checkerboard over the valid area..."""
    position_parity: int | None = 0
    """...on the cells whose ``(row + col) % 2`` equals this parity (None: anywhere)."""

    def sample(
        self,
        n: int,
        patch_hw: tuple[int, int],
        image_hw: tuple[int, int],
        generator: torch.Generator,
    ) -> TransformParams:
        """Draw ``n`` conditions for a patch of nominal size ``patch_hw`` in ``image_hw`` images."""
        g = generator
        angle = _sample_ranges(self.rotation, n, g)
        scale = _sample_ranges(self.scale, n, g)
        ph, pw = patch_hw
        ih, iw = image_hw
        # Centre range that keeps the (unrotated) scaled patch inside the image.
        half_h, half_w = scale * ph / 2, scale * pw / 2
        lo_y, hi_y = half_h, (ih - half_h).clamp_min(half_h)
        lo_x, hi_x = half_w, (iw - half_w).clamp_min(half_w)
        cells = self.position_cells
        if self.position_parity is None:
            fy = torch.rand(n, generator=g)
            fx = torch.rand(n, generator=g)
        else:
            allowed = [
                (r, c)
                for r in range(cells)
                for c in range(cells)
                if (r + c) % 2 == self.position_parity
            ]
            pick = torch.randint(0, len(allowed), (n,), generator=g)
            rows = torch.tensor([allowed[i][0] for i in pick.tolist()], dtype=torch.float32)
            cols = torch.tensor([allowed[i][1] for i in pick.tolist()], dtype=torch.float32)
            fy = (rows + torch.rand(n, generator=g)) / cells
            fx = (cols + torch.rand(n, generator=g)) / cells
        cy = lo_y + fy * (hi_y - lo_y)
        cx = lo_x + fx * (hi_x - lo_x)
        return TransformParams(
            angle=angle,
            scale=scale,
            cx=cx,
            cy=cy,
            brightness=_sample_ranges(self.brightness, n, g),
            contrast=_sample_ranges(self.contrast, n, g),
            noise_std=_sample_ranges(self.noise, n, g),
            noise=torch.randn((n, 1, *image_hw), generator=g),
            blur=_sample_ranges(self.blur, n, g),
        )

    def with_(self, **changes: object) -> TransformSpace:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TransformParams:
    """One sampled condition per image (all tensors have the batch as first axis)."""

    angle: torch.Tensor
    """Rotation, degrees."""
    scale: torch.Tensor
    """Patch side relative to nominal."""
    cx: torch.Tensor
    """Patch centre column, pixels."""
    cy: torch.Tensor
    """Patch centre row, pixels."""
    brightness: torch.Tensor
    """Additive brightness (fraction of the input range)."""
    contrast: torch.Tensor
    """Contrast factor around mid-grey."""
    noise_std: torch.Tensor
    """Noise standard deviation (fraction of the input range)."""
    noise: torch.Tensor
    """Unit Gaussian noise, ``(N, 1, H, W)``; shared across channels like luminance noise."""
    blur: torch.Tensor
    """Blur sigma, pixels."""

    def __len__(self) -> int:
        return int(self.angle.shape[0])

    def take(self, index: slice | torch.Tensor) -> TransformParams:
        """The parameters of a subset of the images."""
        return TransformParams(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


def _sample_ranges(ranges: Ranges, n: int, g: torch.Generator) -> torch.Tensor:
    lows = torch.tensor([lo for lo, _ in ranges], dtype=torch.float32)
    highs = torch.tensor([hi for _, hi in ranges], dtype=torch.float32)
    widths = highs - lows
    weights = widths if float(widths.sum()) > 0 else torch.ones_like(widths)
    which = torch.multinomial(weights, n, replacement=True, generator=g)
    return lows[which] + torch.rand(n, generator=g) * widths[which]


def place_patch(
    patch: torch.Tensor, params: TransformParams, image_hw: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Render a ``(C, h, w)`` patch into ``(N, C, H, W)`` canvases and its coverage mask.

    The patch is rotated by ``angle``, scaled by ``scale`` and centred at ``(cx, cy)`` with a
    bilinear inverse warp, so gradients reach every patch pixel that shows.
    """
    n = len(params)
    c, ph, pw = patch.shape
    ih, iw = image_hw
    theta_r = params.angle * (math.pi / 180.0)
    cos, sin = torch.cos(theta_r), torch.sin(theta_r)
    # Output normalised coords q -> pixels: D_img q + centre; pixels -> patch normalised coords:
    # R^-1 (pixel offset) / (scale * patch half-size). theta = D_patch^-1 R^-1 D_img.
    sx_img, sy_img = iw / 2.0, ih / 2.0
    half_w, half_h = params.scale * pw / 2.0, params.scale * ph / 2.0
    ox = params.cx - iw / 2.0  # centre offset in pixels from the image centre
    oy = params.cy - ih / 2.0
    # R^-1 = [[cos, sin], [-sin, cos]]
    a11 = cos * sx_img / half_w
    a12 = sin * sy_img / half_w
    a21 = -sin * sx_img / half_h
    a22 = cos * sy_img / half_h
    t1 = -(cos * ox + sin * oy) / half_w
    t2 = -(-sin * ox + cos * oy) / half_h
    theta = torch.stack([torch.stack([a11, a12, t1], 1), torch.stack([a21, a22, t2], 1)], 1)
    grid = F.affine_grid(theta, [n, c, ih, iw], align_corners=False)
    src = torch.cat([patch, torch.ones(1, ph, pw, dtype=patch.dtype)], 0)
    out = F.grid_sample(
        src.unsqueeze(0).expand(n, -1, -1, -1),
        grid,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
    return out[:, :c], out[:, c:]


def apply_patch(
    x: torch.Tensor,
    patch: torch.Tensor | None,
    params: TransformParams,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Paste ``patch`` into ``x`` under ``params``, then apply lighting, noise and blur.

    With ``patch=None`` only the scene conditions (lighting, noise, blur) are applied, which
    gives the matching clean reference for each patched image.
    """
    lo, hi = bounds
    span = hi - lo
    if patch is not None:
        canvas, mask = place_patch(patch, params, (x.shape[-2], x.shape[-1]))
        x = x * (1 - mask) + canvas * mask
    mid = (lo + hi) / 2.0
    view = (-1, 1, 1, 1)
    x = (x - mid) * params.contrast.view(view) + mid + params.brightness.view(view) * span
    x = x + params.noise * (params.noise_std.view(view) * span)
    x = gaussian_blur(x, params.blur)
    return x.clamp(lo, hi)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with a per-image ``sigma`` (sigma 0 leaves the image unchanged)."""
    n, c, h, w = x.shape
    if bool((sigma <= 1e-3).all()):
        return x
    r = BLUR_TAPS // 2
    offsets = torch.arange(-r, r + 1, dtype=x.dtype)
    s = sigma.clamp_min(1e-3).view(-1, 1)
    k = torch.exp(-(offsets.view(1, -1) ** 2) / (2 * s**2))
    k = k / k.sum(1, keepdim=True)  # (N, taps)
    k = k.repeat_interleave(c, 0)  # one kernel per (image, channel)
    flat = x.reshape(1, n * c, h, w)
    pad_mode = "reflect" if min(h, w) > r else "replicate"
    flat = F.conv2d(F.pad(flat, (r, r, 0, 0), mode=pad_mode), k.view(n * c, 1, 1, -1), groups=n * c)
    flat = F.conv2d(F.pad(flat, (0, 0, r, r), mode=pad_mode), k.view(n * c, 1, -1, 1), groups=n * c)
    return flat.reshape(n, c, h, w)


TRAIN_SPACE = TransformSpace()
"""The EoT distribution a patch is trained under."""

HELD_OUT_FAMILIES: dict[str, dict[str, object]] = {
    "position": {"position_parity": 1},
    "rotation": {"rotation": ((-40.0, -25.0), (25.0, 40.0))},
    "scale": {"scale": ((0.65, 0.75), (1.25, 1.4))},
    "lighting": {
        "brightness": ((-0.2, -0.12), (0.12, 0.2)),
        "contrast": ((0.6, 0.75), (1.25, 1.4)),
    },
    "noise": {"noise": ((0.03, 0.05),)},
    "blur": {"blur": ((0.6, 0.9),)},
}
"""Each family moves one kind of condition outside the training ranges (the other conditions
keep their training distribution), so success there shows the patch generalises."""


def held_out_spaces(base: TransformSpace = TRAIN_SPACE) -> dict[str, TransformSpace]:
    """One evaluation space per held-out family, plus ``combined`` (all of them at once)."""
    spaces = {name: base.with_(**changes) for name, changes in HELD_OUT_FAMILIES.items()}
    combined: dict[str, object] = {}
    for changes in HELD_OUT_FAMILIES.values():
        combined.update(changes)
    spaces["combined"] = base.with_(**combined)
    return spaces
