"""The stacked MLP trainer trains each model as it would be trained alone."""

from __future__ import annotations

import numpy as np
import torch

from aisec.data.builtin import load_builtin
from aisec.targets.builtin.stacked import train_stacked_mlps


def test_a_model_trained_in_a_stack_equals_the_model_trained_alone() -> None:
    data = load_builtin("digits:train")
    x, y = data.x[:300], data.y[:300]
    rng = np.random.default_rng(0)
    masks = np.zeros((3, 300), dtype=bool)
    for row in masks:  # equal subset sizes: no model runs out of samples before the others
        row[rng.permutation(300)[:150]] = True
    widths = (64, 32, 10)
    alone = train_stacked_mlps(widths, x, y, masks[:1], [5], epochs=10, lr=1e-2)[0]
    stacked = train_stacked_mlps(widths, x, y, masks, [5, 6, 7], epochs=10, lr=1e-2)
    for a, b in zip(alone.state_dict().values(), stacked[0].state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-5)
    # the other models differ (own seeds, own subsets) and every one has learnt
    assert not torch.allclose(stacked[1].net[1].weight, stacked[0].net[1].weight)
    test = load_builtin("digits:test")
    for net in stacked:
        with torch.no_grad():
            pred = net(torch.as_tensor(test.x)).argmax(dim=1).numpy()
        assert (pred == test.y).mean() > 0.5
