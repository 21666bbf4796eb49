"""Figures for the HTML report, as inline ``data:image/png;base64`` URIs.

Figures are drawn with matplotlib's Agg canvas directly (no pyplot, so no global backend
change in the caller's process) and saved without timestamps, so the same results always
give byte-identical images. Every function returns None when there is nothing to draw.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_PNG_METADATA: dict[str, Any] = {"Software": None}
_ACCENT = "#1f5fa8"
_SECOND = "#c2410c"


def _figure(width: float = 5.2, height: float = 3.2, *, left: float = 0.12) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # fixed margins: a layout engine would draw every figure twice
    fig = Figure(figsize=(width, height), dpi=100)
    bottom = min(0.4, 0.5 / height)
    top = 1 - min(0.3, 0.3 / height)
    fig.subplots_adjust(left=left, right=0.97, bottom=bottom, top=top)
    FigureCanvasAgg(fig)
    return fig


def _to_uri(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata=_PNG_METADATA)
    return png_uri(buf.getvalue())


def png_uri(png: bytes) -> str:
    """A ``data:`` URI for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _finite(values: Sequence[Any]) -> np.ndarray:
    arr = np.asarray([v for v in values if _is_num(v)], dtype=np.float64)
    return arr[np.isfinite(arr)]


def _is_num(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    return math.isfinite(float(value))


def curve_plot(
    curve: Sequence[Mapping[str, Any]],
    *,
    clean_accuracy: float | None = None,
    norm: str | None = None,
    budget: float | None = None,
    title: str = "",
) -> str | None:
    """Robust accuracy as a function of eps (a security-evaluation curve).

    Args:
        curve: Points ``{"eps": float, "robust_accuracy": float}``.
        clean_accuracy: Drawn at eps 0 when the curve lacks that point (robust accuracy at
            eps 0 is the clean accuracy by definition).
        norm: Norm name for the x-axis label.
        budget: The configured budget, marked with a vertical line.
        title: Figure title.
    """
    pts = sorted(
        (float(p["eps"]), float(p["robust_accuracy"]))
        for p in curve
        if isinstance(p, Mapping) and _is_num(p.get("eps")) and _is_num(p.get("robust_accuracy"))
    )
    if not pts:
        return None
    if clean_accuracy is not None and _is_num(clean_accuracy) and pts[0][0] > 0:
        pts.insert(0, (0.0, float(clean_accuracy)))
    fig = _figure()
    ax = fig.add_subplot()
    xs, ys = zip(*pts, strict=True)
    # with only the clean point and one budget, a line would suggest a shape never measured
    ax.plot(xs, ys, marker="o", color=_ACCENT, linestyle="-" if len(pts) > 2 else "none")
    if budget is not None and _is_num(budget):
        ax.axvline(float(budget), color=_SECOND, linestyle="--", linewidth=1, label="budget")
        ax.legend(loc="upper right", frameon=False)
    ax.set_xlabel(f"eps ({norm})" if norm else "eps")
    ax.set_ylabel("robust accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return _to_uri(fig)


def cdf_plot(
    values: Sequence[Any] | np.ndarray,
    *,
    xlabel: str,
    budget: float | None = None,
    title: str = "",
) -> str | None:
    """Empirical CDF of per-sample values (e.g. perturbation norms), with a budget line."""
    arr = np.sort(_finite(list(np.asarray(values).ravel())))
    if not arr.size:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    frac = np.arange(1, arr.size + 1) / arr.size
    ax.step(
        np.concatenate([[0.0], arr]), np.concatenate([[0.0], frac]), where="post", color=_ACCENT
    )
    if budget is not None and _is_num(budget):
        ax.axvline(float(budget), color=_SECOND, linestyle="--", linewidth=1, label="budget")
        ax.legend(loc="lower right", frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"fraction of points (n={arr.size})")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return _to_uri(fig)


def lines_plot(
    xs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    reference: float | None = None,
    reference_label: str = "",
    title: str = "",
) -> str | None:
    """One line per named series over shared x values (at most 12 series), with a reference."""
    items = [
        (str(name), [float(v) for v in ys])
        for name, ys in list(series.items())[:12]
        if len(ys) == len(xs) and all(_is_num(v) for v in ys)
    ]
    if not items or not xs:
        return None
    fig = _figure(5.8, 3.4)
    ax = fig.add_subplot()
    for name, ys in items:
        ax.plot(list(xs), ys, marker="o", markersize=3, label=name)
    if reference is not None and _is_num(reference):
        ax.axhline(
            float(reference), color="#555555", linestyle=":", linewidth=1, label=reference_label
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if all(0.0 <= v <= 1.0 for _, ys in items for v in ys):
        ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    if title:
        ax.set_title(title, fontsize=10)
    return _to_uri(fig)


def bar_plot(
    labels: Sequence[str], values: Sequence[Any], *, ylabel: str, title: str = ""
) -> str | None:
    """Horizontal bars, one per label (at most 40), for rates in [0, 1] or any numbers."""
    pairs = [(str(lab), float(v)) for lab, v in zip(labels, values, strict=False) if _is_num(v)]
    pairs = pairs[:40]
    if not pairs:
        return None
    longest = max(len(p[0]) for p in pairs)
    fig = _figure(5.2, max(1.6, 0.28 * len(pairs) + 0.9), left=min(0.55, 0.06 + 0.0125 * longest))
    ax = fig.add_subplot()
    names = [p[0] for p in pairs][::-1]
    vals = [p[1] for p in pairs][::-1]
    ax.barh(range(len(vals)), vals, color=_ACCENT)
    ax.set_yticks(range(len(vals)), names, fontsize=8)
    ax.set_xlabel(ylabel)
    if all(0.0 <= v <= 1.0 for v in vals):
        ax.set_xlim(0, 1)
    ax.grid(alpha=0.3, axis="x")
    if title:
        ax.set_title(title, fontsize=10)
    return _to_uri(fig)


def to_hwc(image: np.ndarray) -> np.ndarray | None:
    """An image array as HxW (grey) or HxWx3 (RGB), from CHW, HWC or HW; None if not an image."""
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 2:
        return img
    if img.ndim != 3:
        return None
    channels_first = img.shape[0] in (1, 3)
    if channels_first and (img.shape[-1] not in (1, 3) or img.shape[0] <= img.shape[-1]):
        img = np.moveaxis(img, 0, -1)
    if img.shape[-1] == 1:
        return img[..., 0]
    if img.shape[-1] == 3:
        return img
    return None


def is_image_batch(x: np.ndarray) -> bool:
    """True for a batch of 2-D images (N×C×H×W with C in 1 or 3, or N×H×W) at least 4×4."""
    arr = np.asarray(x)
    if arr.ndim == 3:
        return arr.shape[1] >= 4 and arr.shape[2] >= 4
    if arr.ndim == 4:
        return arr.shape[1] in (1, 3) and arr.shape[2] >= 4 and arr.shape[3] >= 4
    return False


def image_png(
    image: np.ndarray,
    *,
    bounds: tuple[float, float] = (0.0, 1.0),
    diverging: bool = False,
    min_size: int = 64,
) -> str | None:
    """One image as an upscaled PNG URI (nearest neighbour, so pixels stay crisp).

    Args:
        image: CHW, HWC or HW array.
        bounds: Value range mapped to black..white.
        diverging: Draw a signed perturbation (blue negative, red positive, white zero).
        min_size: Smallest side in pixels after upscaling.
    """
    from matplotlib.image import imsave

    img = to_hwc(image)
    if img is None or img.size == 0:
        return None
    img = np.nan_to_num(img)
    k = max(1, math.ceil(min_size / max(1, min(img.shape[0], img.shape[1]))))
    img = np.repeat(np.repeat(img, k, axis=0), k, axis=1)
    buf = io.BytesIO()
    if diverging:
        grey = img.mean(axis=-1) if img.ndim == 3 else img
        m = float(np.abs(grey).max()) or 1.0
        imsave(buf, grey, cmap="RdBu_r", vmin=-m, vmax=m, format="png", metadata=_PNG_METADATA)
    else:
        lo, hi = float(bounds[0]), float(bounds[1])
        if not hi > lo:
            lo, hi = float(img.min()), float(img.max()) or 1.0
        if img.ndim == 3:
            rgb = np.clip((img - lo) / (hi - lo), 0.0, 1.0)
            imsave(buf, rgb, format="png", metadata=_PNG_METADATA)
        else:
            imsave(buf, img, cmap="gray", vmin=lo, vmax=hi, format="png", metadata=_PNG_METADATA)
    return png_uri(buf.getvalue())


def roc_plot(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str = ""
) -> str | None:
    """ROC curves on log-log axes (the low-FPR regime), with the chance diagonal."""
    items = [
        (name, np.asarray(f, np.float64), np.asarray(t, np.float64))
        for name, (f, t) in list(curves.items())[:8]
        if len(f) and len(f) == len(t)
    ]
    if not items:
        return None
    floor = min(float(f[f > 0].min(initial=1.0)) for _, f, _ in items)
    floor = max(min(floor, 1e-2), 1e-5)
    fig = _figure(4.6, 4.0, left=0.16)
    ax = fig.add_subplot()
    grid = np.geomspace(floor, 1.0, 50)
    ax.plot(grid, grid, color="#555555", linestyle=":", linewidth=1, label="chance")
    for name, f, t in items:
        keep = f >= floor
        ax.plot(f[keep], np.maximum(t[keep], floor), label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(floor, 1.0)
    ax.set_ylim(floor, 1.05)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return _to_uri(fig)


def tradeoff_plot(
    labels: Sequence[str],
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
) -> str | None:
    """Labelled points (e.g. honest accuracy against leakage, one per output mode); points that
    coincide share one label."""
    merged: dict[tuple[float, float], list[str]] = {}
    for lab, x, y in zip(labels, xs, ys, strict=False):
        if _is_num(x) and _is_num(y):
            merged.setdefault((round(float(x), 6), round(float(y), 6)), []).append(str(lab))
    if not merged:
        return None
    fig = _figure(5.6, 3.6, left=0.16)
    ax = fig.add_subplot()
    pts = list(merged.items())
    ax.scatter([p[0][0] for p in pts], [p[0][1] for p in pts], color=_ACCENT)
    for (x, y), names in pts:
        ax.annotate(", ".join(names), (x, y), fontsize=7, xytext=(5, 3), textcoords="offset points")
    ax.margins(x=0.35, y=0.15)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return _to_uri(fig)
