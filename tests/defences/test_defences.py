"""Data-set defences against known poisons and known label noise (closed-form expectations)."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.data import Dataset, load_builtin
from aisec.defences import check_dataset, detection_scores, spectral_signatures
from aisec.defences.activation_clustering import activation_clustering


def test_detection_scores_by_hand():
    flagged = np.array([1, 1, 0, 0, 1], bool)
    poisoned = np.array([1, 0, 1, 0, 1], bool)
    assert detection_scores(flagged, poisoned) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert detection_scores(np.zeros(3, bool), np.zeros(3, bool)) == (0.0, 1.0)


def test_planted_cluster_is_found_by_both_defences():
    # class 0: 200 clean points around 0 and 40 poisons that also drive 8 "backdoor" features
    # of 64 (as a trigger drives a few neurons); class 1 is clean
    rng = np.random.default_rng(0)
    shift = np.r_[np.full(8, 3.0), np.zeros(56)]
    clean0 = rng.normal(size=(200, 64))
    poison = rng.normal(size=(40, 64)) + shift
    clean1 = rng.normal(size=(200, 64)) + 3
    features = np.vstack([clean0, poison, clean1])
    labels = np.r_[np.zeros(240, int), np.ones(200, int)]
    truth = np.r_[np.zeros(200, bool), np.ones(40, bool), np.zeros(200, bool)]
    ac = activation_clustering(features, labels, seed=0)
    assert detection_scores(ac, truth) == (1.0, 1.0)
    ss = spectral_signatures(features, labels, expected_rate=40 / 240, multiplier=1.0)
    _precision, recall = detection_scores(ss, truth)
    assert recall >= 0.95


@pytest.fixture(scope="module")
def digits_train():
    return load_builtin("digits:train")


def test_injected_label_noise_is_estimated(digits_train):
    rng = np.random.default_rng(0)
    y = digits_train.y.copy()
    idx = rng.choice(len(y), round(0.1 * len(y)), replace=False)
    y[idx] = (y[idx] + rng.integers(1, 10, len(idx))) % 10
    o = check_dataset(Dataset(digits_train.x, y))
    assert 0.06 <= o.label_noise <= 0.14
    found = set(o.suspect_labels) & set(idx.tolist())
    assert len(found) / len(idx) > 0.6
    assert check_dataset(digits_train).label_noise < 0.01


def test_duplicates_and_balance_shift(digits_train):
    d = digits_train
    x = np.concatenate([d.x, d.x[:20], np.clip(d.x[20:40] + 0.01, 0, 1)]).astype(np.float32)
    y = np.concatenate([d.y, d.y[:20], d.y[20:40]])
    y[len(d.y)] = (y[len(d.y)] + 1) % 10  # one duplicate with a conflicting label
    keep = np.flatnonzero(d.y != 3)  # a reference without class 3 at all
    ref = Dataset(d.x[keep], d.y[keep])
    o = check_dataset(Dataset(x, y), ref)
    assert o.exact_duplicates == 20 and o.conflicting_duplicates == 1
    assert o.near_duplicates == 40  # both members of each of the 20 near pairs
    counts = np.bincount(y, minlength=10)
    p = counts / counts.sum()
    q = np.bincount(ref.y, minlength=10) / len(ref.y)
    assert o.balance_shift == pytest.approx(0.5 * np.abs(p - q).sum())
    assert o.balance_p_value == 0.0  # class 3 present, absent from the reference
