"""``signs``: deterministic synthetic traffic signs, 3x32x32 RGB in [0, 1], 8 classes.

Each image is rendered with numpy only: a sign drawn from geometric primitives (octagon,
triangles, circles, diamond, bars, glyphs) over a random background (colour gradient plus
smooth noise and stripes), seen from a random viewpoint (scale, in-plane rotation, perspective
skew, position) under random lighting (brightness, contrast, colour cast) with sensor noise.
Shapes are rendered at twice the resolution and averaged down, so edges are anti-aliased.

The splits use fixed seeds (train: 2400 images, test: 600), are class-balanced, and take well
under a second to generate, so the data set needs no download and no cache.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from aisec.data.builtin import register_dataset
from aisec.data.dataset import Dataset

SIZE = 32
"""Side of the rendered images in pixels."""
SUPERSAMPLE = 2
CLASS_NAMES = (
    "stop",
    "yield",
    "speed-limit",
    "no-entry",
    "priority-road",
    "warning",
    "turn-right",
    "no-parking",
)
"""Class index -> name."""
N_CLASSES = len(CLASS_NAMES)
SPLITS = {"train": (2400, 20_241), "test": (600, 20_242)}
"""Split -> (number of images, seed)."""

RED = np.array([0.80, 0.08, 0.10])
WHITE = np.array([0.95, 0.95, 0.93])
BLACK = np.array([0.08, 0.08, 0.08])
YELLOW = np.array([0.98, 0.78, 0.05])
BLUE = np.array([0.05, 0.25, 0.75])

# A layer is (mask function of canonical coordinates (u, v), RGB colour); later layers paint
# over earlier ones. Canonical coordinates span [-1, 1] over the sign, v pointing down.
Mask = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _circle(r: float) -> Mask:
    return lambda u, v: u * u + v * v <= r * r


def _octagon(r: float) -> Mask:
    return lambda u, v: (
        np.maximum(np.maximum(np.abs(u), np.abs(v)), (np.abs(u) + np.abs(v)) * 0.7071) <= r
    )


def _diamond(r: float) -> Mask:
    return lambda u, v: np.abs(u) + np.abs(v) <= r


def _triangle(r: float, up: bool) -> Mask:
    """Equilateral triangle with inradius ``r``, apex up (or down), its bounding box centred."""
    s = 1.0 if up else -1.0

    def mask(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        # Coordinate from the centroid towards the base; the bounding box is centred at 0.
        w = s * v - r / 2
        return (w <= r) & (0.866 * u - 0.5 * w <= r) & (-0.866 * u - 0.5 * w <= r)

    return mask


def _rect(cx: float, cy: float, hw: float, hh: float) -> Mask:
    return lambda u, v: (np.abs(u - cx) <= hw) & (np.abs(v - cy) <= hh)


def _union(*masks: Mask) -> Mask:
    def mask(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        out = masks[0](u, v)
        for m in masks[1:]:
            out = out | m(u, v)
        return out

    return mask


def _slash(width: float, radius: float) -> Mask:
    return lambda u, v: (np.abs(u + v) * 0.7071 <= width) & (u * u + v * v <= radius * radius)


def _arrow_head(tip: float, base: float, half: float) -> Mask:
    return lambda u, v: (u >= base) & (u <= tip) & (np.abs(v) <= half * (tip - u) / (tip - base))


_DIGIT_3 = _union(
    _rect(-0.27, -0.3, 0.15, 0.06),
    _rect(-0.27, 0.0, 0.15, 0.06),
    _rect(-0.27, 0.3, 0.15, 0.06),
    _rect(-0.15, -0.15, 0.06, 0.2),
    _rect(-0.15, 0.15, 0.06, 0.2),
)
_DIGIT_0 = _union(
    _rect(0.27, -0.3, 0.15, 0.06),
    _rect(0.27, 0.3, 0.15, 0.06),
    _rect(0.15, 0.0, 0.06, 0.35),
    _rect(0.39, 0.0, 0.06, 0.35),
)

LAYERS: dict[int, tuple[tuple[Mask, np.ndarray], ...]] = {
    0: ((_octagon(1.0), WHITE), (_octagon(0.9), RED), (_rect(0.0, 0.0, 0.6, 0.14), WHITE)),
    1: ((_triangle(0.62, up=False), RED), (_triangle(0.36, up=False), WHITE)),
    2: ((_circle(1.0), RED), (_circle(0.74), WHITE), (_union(_DIGIT_3, _DIGIT_0), BLACK)),
    3: ((_circle(1.0), RED), (_rect(0.0, 0.0, 0.68, 0.17), WHITE)),
    4: ((_diamond(1.0), WHITE), (_diamond(0.72), YELLOW)),
    5: (
        (_triangle(0.62, up=True), RED),
        (_triangle(0.36, up=True), WHITE),
        (_union(_rect(0.0, 0.05, 0.06, 0.22), _rect(0.0, 0.42, 0.06, 0.06)), BLACK),
    ),
    6: (
        (_circle(1.0), BLUE),
        (_union(_rect(-0.25, 0.0, 0.35, 0.12), _arrow_head(0.62, 0.1, 0.38)), WHITE),
    ),
    7: ((_circle(1.0), RED), (_circle(0.75), BLUE), (_slash(0.13, 0.8), RED)),
}


def render_signs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Render ``n`` class-balanced sign images with the given seed.

    Returns:
        ``(x, y)``: ``x`` float32 of shape ``(n, 3, 32, 32)`` in [0, 1], ``y`` int64 labels.
    """
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % N_CLASSES).astype(np.int64)
    x = np.empty((n, 3, SIZE, SIZE), dtype=np.float32)
    for start in range(0, n, 256):
        stop = min(n, start + 256)
        x[start:stop] = _render_batch(y[start:stop], rng)
    return x, y


def _render_batch(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(y)
    bg = _backgrounds(n, SIZE, rng)  # (n, SIZE, SIZE, 3); smooth, so rendered at output size
    u, v = _sign_coordinates(n, SIZE * SUPERSAMPLE, rng)
    # Faded paint: each sign's colours vary a little.
    fade = rng.uniform(0.85, 1.05, size=(n, 1)).astype(np.float32)
    tint = rng.normal(0.0, 0.03, size=(n, 3)).astype(np.float32)
    # Which layer (0 = background) is visible at each supersampled pixel, and its colour.
    depth = max(len(layers) for layers in LAYERS.values())
    top = np.zeros(u.shape, dtype=np.int8)
    colours = np.zeros((n, depth + 1, 3), dtype=np.float32)
    for cls in np.unique(y):
        sel = np.flatnonzero(y == cls)
        t = top[sel]
        for k, (mask_fn, colour) in enumerate(LAYERS[int(cls)], start=1):
            t[mask_fn(u[sel], v[sel])] = k
            colours[sel, k] = np.clip(colour * fade[sel] + tint[sel], 0.0, 1.0)
        top[sel] = t
    # Anti-aliasing: each layer's coverage of an output pixel is the mean of its sub-pixels.
    img = np.zeros((n, SIZE, SIZE, 3), dtype=np.float32)
    for k in range(depth + 1):
        hit = (top == k).view(np.uint8).reshape(n, SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE)
        cover = sum(hit[:, :, i, :, j] for i in range(SUPERSAMPLE) for j in range(SUPERSAMPLE))
        cover = cover.astype(np.float32)[..., None] / SUPERSAMPLE**2
        img += cover * (bg if k == 0 else colours[:, k, None, None, :])
    # Lighting: brightness, contrast and a colour cast, then sensor noise.
    contrast = rng.uniform(0.65, 1.2, size=(n, 1, 1, 1)).astype(np.float32)
    brightness = rng.uniform(-0.2, 0.15, size=(n, 1, 1, 1)).astype(np.float32)
    cast = rng.uniform(0.88, 1.12, size=(n, 1, 1, 3)).astype(np.float32)
    img = ((img - 0.5) * contrast + 0.5 + brightness) * cast
    sigma = rng.uniform(0.0, 0.04, size=(n, 1, 1, 1)).astype(np.float32)
    img = img + rng.standard_normal(size=img.shape, dtype=np.float32) * sigma
    return np.clip(img, 0.0, 1.0).transpose(0, 3, 1, 2)


def _backgrounds(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Colour gradients plus smooth noise plus faint stripes: (n, size, size, 3)."""
    t = np.linspace(-1.0, 1.0, size)
    yy, xx = np.meshgrid(t, t, indexing="ij")
    angle = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    ramp = (np.cos(angle) * xx + np.sin(angle) * yy + 1.0) / 2.0  # (n, size, size) in [0, 1]
    c0 = rng.uniform(0.05, 0.95, size=(n, 1, 1, 3))
    c1 = rng.uniform(0.05, 0.95, size=(n, 1, 1, 3))
    img = c0 + (c1 - c0) * ramp[..., None]
    # Smooth noise: a coarse random grid interpolated bilinearly (separable matrices).
    grid = 5
    interp = _interp_matrix(grid, size)
    coarse = rng.normal(0.0, 1.0, size=(n, grid, grid, 3)) * rng.uniform(
        0.0, 0.15, size=(n, 1, 1, 1)
    )
    img = img + np.einsum("ia,nabc,jb->nijc", interp, coarse, interp, optimize=True)
    # Texture: faint stripes (buildings, foliage, road markings) with a random frequency.
    freq = rng.uniform(2.0, 10.0, size=(n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    stripe_angle = rng.uniform(0, np.pi, size=(n, 1, 1))
    stripes = np.sin(freq * np.pi * (np.cos(stripe_angle) * xx + np.sin(stripe_angle) * yy) + phase)
    img = img + (stripes * rng.uniform(0.0, 0.12, size=(n, 1, 1)))[..., None]
    return np.clip(img, 0.0, 1.0).astype(np.float32)


@lru_cache(maxsize=4)
def _interp_matrix(grid: int, size: int) -> np.ndarray:
    pos = np.linspace(0, grid - 1, size)
    lo = np.clip(np.floor(pos).astype(int), 0, grid - 2)
    frac = pos - lo
    m = np.zeros((size, grid))
    m[np.arange(size), lo] = 1 - frac
    m[np.arange(size), lo + 1] = frac
    return m


def _sign_coordinates(n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Map every pixel of every image to the sign's canonical coordinates (u, v).

    The viewpoint is a random projective map: scale, in-plane rotation, anisotropic squeeze
    and shear (an oblique view), a small projective term (perspective) and a translation.
    """
    px = ((np.arange(size) + 0.5) / size * 2.0 - 1.0).astype(np.float32)  # pixel centres
    gy, gx = np.meshgrid(px, px, indexing="ij")
    radius = rng.uniform(0.5, 0.85, size=(n, 1, 1)).astype(
        np.float32
    )  # sign radius relative to half the image
    rot = np.deg2rad(rng.uniform(-12.0, 12.0, size=(n, 1, 1)).astype(np.float32))
    squeeze = rng.uniform(0.75, 1.0, size=(n, 1, 1)).astype(
        np.float32
    )  # foreshortening of an oblique view
    shear = rng.uniform(-0.15, 0.15, size=(n, 1, 1)).astype(np.float32)
    persp_x = rng.uniform(-0.15, 0.15, size=(n, 1, 1)).astype(np.float32)
    persp_y = rng.uniform(-0.1, 0.1, size=(n, 1, 1)).astype(np.float32)
    room = np.clip(1.0 - radius, 0.0, None) * 0.9
    cx = rng.uniform(-1.0, 1.0, size=(n, 1, 1)).astype(np.float32) * room
    cy = rng.uniform(-1.0, 1.0, size=(n, 1, 1)).astype(np.float32) * room
    # Image coordinates relative to the sign centre, with a perspective divide.
    dx, dy = gx - cx, gy - cy
    w = 1.0 + persp_x * dx + persp_y * dy
    dx, dy = dx / w, dy / w
    cos, sin = np.cos(rot), np.sin(rot)
    ru = cos * dx + sin * dy
    rv = -sin * dx + cos * dy
    u = (ru / squeeze - shear * rv) / radius
    v = rv / radius
    return u, v


@lru_cache(maxsize=2)
def _split(split: str) -> tuple[np.ndarray, np.ndarray]:
    n, seed = SPLITS[split]
    return render_signs(n, seed)


@register_dataset(
    "signs", "synthetic traffic signs, 3x32x32 RGB in [0,1], 8 classes (2400 train / 600 test)"
)
def signs(split: str) -> Dataset:
    """The synthetic traffic-sign data set (train: seed 20241, test: seed 20242; ``all`` = both)."""
    if split == "all":
        parts = [_split("train"), _split("test")]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
    else:
        x, y = _split(split)
    return Dataset(
        x.copy(),
        y.copy(),
        name=f"signs:{split}",
        meta={"source": "builtin:signs", "split": split, "classes": ",".join(CLASS_NAMES)},
    )
