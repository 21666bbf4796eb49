"""Pre-processing transforms against references (PIL's JPEG, SciPy's median filter), and each
defence flagged by the sanity checks under plain PGD and broken by BPDA or EoT."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from aisec.attacks.evasion.pgd import PGD
from aisec.attacks.evasion.sanity import GradientMaskingSanity
from aisec.data.splits import Splits
from aisec.defences.evasion_evaluation import EvasionDefences
from aisec.defences.preprocessing import (
    Preprocessed,
    bit_depth,
    jpeg_like,
    make_preprocessor,
    median_filter,
)
from aisec.errors import ParameterError
from aisec.records import Severity

EPS = 0.1


def test_bit_depth_keeps_two_to_the_bits_levels() -> None:
    x = torch.linspace(0, 1, 1000).view(10, 1, 10, 10)
    levels = torch.unique(bit_depth(x, (0.0, 1.0), 3))
    assert len(levels) == 8
    assert float(levels.min()) == 0.0 and float(levels.max()) == 1.0


def test_jpeg_like_matches_pil_on_greyscale_images() -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    smooth = np.kron(rng.uniform(0, 1, (4, 4)), np.ones((4, 4)))  # 16x16, JPEG-friendly
    img = np.clip(smooth + rng.normal(0, 0.05, smooth.shape), 0, 1)
    pixels = np.round(img * 255).astype(np.uint8)
    for quality in (30, 75):
        buf = io.BytesIO()
        Image.fromarray(pixels, "L").save(buf, format="JPEG", quality=quality, subsampling=0)
        ref = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float64) / 255
        ours = jpeg_like(torch.tensor(pixels / 255.0).float()[None, None], (0.0, 1.0), quality)
        err = np.abs(ours[0, 0].numpy() - ref)
        # libjpeg's integer DCT rounds differently: within two grey levels on average
        assert err.mean() < 2 / 255, (quality, err.mean())
        assert np.abs(img - ref).mean() > err.mean()  # the compression itself is larger


def test_median_filter_matches_scipy() -> None:
    from scipy.ndimage import median_filter as scipy_median

    x = np.random.default_rng(1).uniform(0, 1, (2, 1, 9, 9)).astype(np.float32)
    ours = median_filter(torch.from_numpy(x), 3).numpy()
    ref = np.stack([scipy_median(x[i, 0], size=3, mode="mirror") for i in range(2)])[:, None]
    np.testing.assert_allclose(ours, ref)


def test_randomization_draws_afresh_and_stays_in_bounds(digits_cnn, digits_small) -> None:
    wrapped = Preprocessed(digits_cnn, make_preprocessor("randomization"), seed=3)
    x = torch.as_tensor(digits_small.x[:20])
    a, b = wrapped.logits_batched(x), wrapped.logits_batched(x)
    assert not torch.allclose(a, b)
    t = make_preprocessor("randomization").apply(x, (0.0, 1.0), torch.Generator().manual_seed(0))
    assert t.shape == x.shape and float(t.min()) >= 0.0 and float(t.max()) <= 1.0


def test_deployed_gradient_is_zero_and_bpda_passes_one(digits_cnn, digits_small) -> None:
    x = torch.as_tensor(digits_small.x[:8]).requires_grad_(True)
    deployed = Preprocessed(digits_cnn, make_preprocessor("median"))
    (g,) = torch.autograd.grad(deployed.logits(x).sum(), x)
    assert float(g.abs().max()) == 0.0
    (g,) = torch.autograd.grad(deployed.adaptive().logits(x).sum(), x)
    assert float(g.abs().max()) > 0.0


@pytest.mark.parametrize(
    ("name", "settings"),
    [("bit-depth", {"bits": 0}), ("jpeg", {"quality": 101}), ("median", {"kernel": 1}), ("x", {})],
)
def test_bad_settings_are_one_line_errors(name, settings) -> None:
    with pytest.raises(ParameterError, match="pre-processing"):
        make_preprocessor(name, **settings)


def _robust(model, attacked, x, y, **pgd) -> float:
    adv = PGD(eps=EPS, steps=40, loss="ce", **pgd).perturb(
        attacked, x, y, eps=EPS, norm="linf", generator=torch.Generator().manual_seed(0)
    )
    clean = model.predict_labels(x.numpy()) == y.numpy()
    return float((clean & (model.predict_labels(adv.x_adv.numpy()) == y.numpy())).mean())


@pytest.mark.parametrize(
    ("name", "symptom", "gap"),
    [
        ("bit-depth", "SAN-005", 0.2),
        ("jpeg", "SAN-005", 0.2),
        ("median", "SAN-005", 0.2),
        # one draw's gradient of a resize still points somewhere useful: plain PGD is only
        # somewhat weaker than EoT here; the randomness itself is the flagged symptom
        ("randomization", "SAN-006", 0.0),
    ],
)
def test_each_defence_is_flagged_under_plain_pgd_and_broken_adaptively(
    name, symptom, gap, digits_cnn, digits_test
) -> None:
    data = digits_test.subset(40, seed=1)
    x, y = torch.as_tensor(data.x), torch.as_tensor(data.y)
    deployed = Preprocessed(digits_cnn, make_preprocessor(name), seed=0)
    sanity = GradientMaskingSanity(eps=EPS, limit=24, steps=10, square_queries=100)
    r = sanity.run(deployed, data, seed=0)  # the undefended CNN passes: see test_sanity.py
    assert r.ok, r.message
    assert symptom in r.metrics["failed"]
    undefended = _robust(digits_cnn, digits_cnn, x, y)
    plain = _robust(deployed, deployed, x, y)
    adaptive = _robust(deployed, deployed.adaptive(samples=8), x, y, restarts=2)
    # plain PGD overstates the defence; BPDA / EoT bring it down to about the undefended level
    assert plain - adaptive >= gap, (plain, adaptive)
    assert adaptive <= undefended + 0.1, (adaptive, undefended)


def test_the_trade_off_reports_masking_as_a_finding(digits_cnn, digits_test) -> None:
    from aisec.data import load_builtin

    splits = Splits({"train": load_builtin("digits:train"), "test": digits_test})
    test = EvasionDefences(defences=["bit-depth"], limit=30, sanity_limit=24)
    r = test.run(digits_cnn, splits, seed=0)
    assert r.ok, r.message
    none, row = r.outcome.rows
    assert (none.defence, row.defence, row.kind) == ("none", "bit-depth", "preprocessing")
    assert row.plain_robust_accuracy - row.robust_accuracy >= 0.2
    assert row.robust_accuracy <= none.robust_accuracy + 0.1
    assert "SAN-005" in row.masking_flags and row.attack.startswith("BPDA")
    (masking,) = [f for f in test.findings(r) if f.rule == "HRD-002"]
    assert masking.severity is Severity.HIGH and "masks gradients" in masking.title
    assert r.outcome.best != "bit-depth"
