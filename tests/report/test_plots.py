"""Figures: real PNGs, deterministic, and None when there is nothing to draw."""

from __future__ import annotations

import base64
import io

import numpy as np

from aisec.report import plots


def _decode(uri: str) -> np.ndarray:
    from matplotlib.image import imread

    assert uri.startswith("data:image/png;base64,")
    return imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")


def test_curve_plot_from_a_real_pgd_curve(report_data) -> None:
    pgd = report_data.results[0]
    uri = plots.curve_plot(
        pgd.metrics["curve"], clean_accuracy=pgd.metrics["clean_accuracy"], norm="linf", budget=0.1
    )
    assert uri is not None
    img = _decode(uri)
    assert img.shape[:2] == (320, 520)
    assert uri == plots.curve_plot(
        pgd.metrics["curve"], clean_accuracy=pgd.metrics["clean_accuracy"], norm="linf", budget=0.1
    )
    assert plots.curve_plot([]) is None
    assert plots.curve_plot([{"eps": "x", "robust_accuracy": 0.5}, {"eps": 0.1}]) is None


def test_cdf_and_bars_skip_non_finite_values() -> None:
    assert plots.cdf_plot([np.nan, np.inf], xlabel="l2") is None
    assert plots.cdf_plot([0.1, np.nan, 0.3], xlabel="l2") is not None
    assert plots.bar_plot(["a", "b"], [None, "x"], ylabel="acc") is None
    assert plots.bar_plot(["a", "b"], [0.2, 0.9], ylabel="acc") is not None


def test_images_keep_their_pixels() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.random((3, 4, 5)).astype(np.float32)
    img = _decode(plots.image_png(rgb, min_size=8))  # type: ignore[arg-type]
    assert img.shape[:2] == (8, 10)  # upscaled by 2, nearest neighbour
    np.testing.assert_allclose(img[::2, ::2, :3], np.moveaxis(rgb, 0, -1), atol=1 / 255 + 1e-6)
    grey = np.linspace(0, 1, 16, dtype=np.float32).reshape(1, 4, 4)
    g = _decode(plots.image_png(grey, min_size=4))  # type: ignore[arg-type]
    np.testing.assert_allclose(g[..., 0], grey[0], atol=1 / 255 + 1e-6)
    assert plots.image_png(np.zeros(5)) is None
    assert plots.is_image_batch(np.zeros((2, 1, 8, 8)))
    assert plots.is_image_batch(np.zeros((2, 8, 8)))
    assert not plots.is_image_batch(np.zeros((2, 64)))
    assert not plots.is_image_batch(np.zeros((2, 5, 8, 8)))
