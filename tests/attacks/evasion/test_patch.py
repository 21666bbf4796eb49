"""The EoT adversarial patch on the built-in signs CNN, and the transformations behind it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aisec.attacks.evasion.patch import (
    AdversarialPatch,
    non_printability,
    patch_severity,
    printable_palette,
)
from aisec.attacks.evasion.transforms import (
    HELD_OUT_FAMILIES,
    TRAIN_SPACE,
    apply_patch,
    held_out_spaces,
    place_patch,
)
from aisec.data import load_builtin
from aisec.errors import ParameterError
from aisec.records import Severity
from aisec.targets import load_builtin_target

FAST = {"steps": 80, "batch_size": 32, "eval_repeats": 1, "n_examples": 4}


@pytest.fixture(scope="module")
def signs_cnn():
    return load_builtin_target("signs-cnn")


@pytest.fixture(scope="module")
def signs_data():
    return load_builtin("signs:test").subset(320, seed=0)


@pytest.fixture(scope="module")
def untargeted(signs_cnn, signs_data):
    return AdversarialPatch(**FAST).run(signs_cnn, signs_data, seed=0)


def _identity(space=TRAIN_SPACE):
    return space.with_(
        rotation=((0.0, 0.0),),
        scale=((1.0, 1.0),),
        brightness=((0.0, 0.0),),
        contrast=((1.0, 1.0),),
        noise=((0.0, 0.0),),
        blur=((0.0, 0.0),),
    )


def test_patch_lands_exactly_where_placed_without_rotation() -> None:
    g = torch.Generator().manual_seed(0)
    tp = _identity().sample(2, (10, 10), (32, 32), g)
    tp = tp.take(slice(0, 2))
    object.__setattr__(tp, "cx", torch.tensor([16.0, 5.0]))
    object.__setattr__(tp, "cy", torch.tensor([16.0, 27.0]))
    patch = torch.rand(3, 10, 10, generator=g)
    canvas, mask = place_patch(patch, tp, (32, 32))
    assert torch.allclose(mask[0, 0, 11:21, 11:21], torch.ones(10, 10), atol=1e-5)
    assert float(mask[0].sum()) == pytest.approx(100.0, abs=1e-3)
    assert torch.allclose(canvas[0, :, 11:21, 11:21], patch, atol=1e-5)
    assert torch.allclose(canvas[1, :, 22:32, 0:10], patch, atol=1e-5)


def test_transformations_are_seeded_differentiable_and_held_out_ranges_are_disjoint() -> None:
    x = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    patch = torch.rand(3, 10, 10, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    a = TRAIN_SPACE.sample(16, (10, 10), (32, 32), torch.Generator().manual_seed(5))
    b = TRAIN_SPACE.sample(16, (10, 10), (32, 32), torch.Generator().manual_seed(5))
    out = apply_patch(x, patch, a)
    assert torch.equal(out, apply_patch(x, patch, b))
    assert (
        out.shape == x.shape
        and float(out.detach().min()) >= 0.0
        and float(out.detach().max()) <= 1.0
    )
    out.sum().backward()
    assert patch.grad is not None and float(patch.grad.abs().sum()) > 0
    spaces = held_out_spaces()
    assert set(spaces) == set(HELD_OUT_FAMILIES) | {"combined"}
    g = torch.Generator().manual_seed(0)
    rot = spaces["rotation"].sample(500, (10, 10), (32, 32), g).angle.abs()
    assert float(rot.min()) >= 25.0 > 20.0
    scale = spaces["scale"].sample(500, (10, 10), (32, 32), g).scale
    assert bool(((scale <= 0.75) | (scale >= 1.25)).all())
    blur = spaces["blur"].sample(500, (10, 10), (32, 32), g).blur
    assert float(blur.min()) >= 0.6 > 0.5
    # Held-out positions fall on the other cells of the checkerboard than training ones.
    for space, parity in ((TRAIN_SPACE, 0), (spaces["position"], 1)):
        tp = _identity(space).sample(500, (10, 10), (32, 32), g)
        f = ((tp.cx - 5) / 22 * 4).floor() + ((tp.cy - 5) / 22 * 4).floor()
        assert bool((f % 2 == parity).all())


def test_untargeted_patch_beats_random_patch_on_held_out_conditions(untargeted, signs_data) -> None:
    r = untargeted
    m = r.metrics
    assert r.ok
    assert m["n_train"] + m["n_eval"] == len(signs_data)
    assert m["clean_accuracy"] > 0.9
    assert m["success_rate"] > m["random_patch_success_rate"] + 0.15
    assert m["success_rate"] > 2 * m["random_patch_success_rate"]
    assert m["accuracy_with_patch"] < m["clean_accuracy"] - 0.2
    rows = {row["transformation"]: row for row in m["per_transformation"]}
    assert set(rows) == set(HELD_OUT_FAMILIES) | {"combined"}
    for row in rows.values():
        assert row["success_rate"] > row["random_patch_success_rate"]
        assert 0 < row["n"] <= m["n_eval"]
    assert r.artifacts["patch"].shape == (3, m["patch_side"], m["patch_side"])
    assert r.artifacts["patch"].dtype == np.float32
    assert r.artifacts["examples"].shape == (4, 3, 32, 32)
    held = r.per_sample["held_out"]
    assert held.sum() == m["n_eval"] and len(held) == len(signs_data)
    assert abs(m["patch_fraction"] - 0.1) < 0.01


def test_patch_findings_follow_phy001(untargeted) -> None:
    (f,) = AdversarialPatch().findings(untargeted)
    assert f.rule == "PHY-001" and f.threats == ("evasion-physical",)
    m = untargeted.metrics
    excess = m["success_rate"] - m["random_patch_success_rate"]
    assert f.severity == patch_severity(excess) and f.severity >= Severity.LOW
    assert patch_severity(0.8) is Severity.CRITICAL and patch_severity(0.05) is Severity.INFO


def test_targeted_patch_forces_the_chosen_class(signs_cnn, signs_data) -> None:
    params = {**FAST, "targeted": True, "target_class": 2, "size": 0.2}
    r = AdversarialPatch(**params).run(signs_cnn, signs_data, seed=0)
    m = r.metrics
    assert m["targeted"] and m["target_class"] == 2
    assert m["success_rate"] > 0.25
    assert m["success_rate"] > 3 * m["random_patch_success_rate"]
    assert m["in_distribution_success_rate"] > 3 * m["in_distribution_random_patch_success_rate"]


def test_same_seed_same_patch_and_printability_term(signs_cnn, signs_data) -> None:
    small = signs_data.subset(40, seed=1)
    params = {"steps": 4, "batch_size": 8, "eval_repeats": 1, "n_examples": 0}
    a = AdversarialPatch(**params).run(signs_cnn, small, seed=3)
    b = AdversarialPatch(**params).run(signs_cnn, small, seed=3)
    assert np.array_equal(a.artifacts["patch"], b.artifacts["patch"])
    assert a.metrics == b.metrics
    printable = AdversarialPatch(**{**params, "steps": 30, "nps_weight": 5.0}).run(
        signs_cnn, small, seed=3
    )
    free = AdversarialPatch(**{**params, "steps": 30}).run(signs_cnn, small, seed=3)
    assert printable.metrics["non_printability"] < free.metrics["non_printability"]
    palette = printable_palette(3)
    assert float(non_printability(palette.T.reshape(3, 3, 9), palette)) == pytest.approx(
        0.0, abs=1e-6
    )


def test_bad_parameters_are_reported_together(signs_cnn, signs_data) -> None:
    with pytest.raises(ParameterError, match="needs `target_class`"):
        AdversarialPatch(targeted=True).run(signs_cnn, signs_data)
    with pytest.raises(ParameterError, match="size"):
        AdversarialPatch(size=0.0).run(signs_cnn, signs_data)
    with pytest.raises(ParameterError, match="below 8"):
        AdversarialPatch(targeted=True, target_class=9).run(signs_cnn, signs_data)
