"""Backdoor scans of models trained here: backdoored ones are flagged with their target class,
clean ones of two architectures are not, STRIP's false-positive rate is measured and bounded."""

from __future__ import annotations

import numpy as np
import pytest

from aisec.data import load_builtin
from aisec.forensics import anomaly_indices
from aisec.records.poisoning import BackdoorScanOutcome
from aisec.registry import get_test


@pytest.fixture(scope="module")
def clean_data():
    return load_builtin("digits:test").subset(200, seed=0)


def test_anomaly_index_matches_the_formula():
    l1 = np.array([1.0, 10.0, 11.0, 9.0, 10.0, 12.0, 8.0])
    # median 10; absolute deviations 9,0,1,1,0,2,2 -> median 1; MAD = 1.4826
    expected = (10.0 - l1) / 1.4826
    assert np.allclose(anomaly_indices(l1), expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_backdoored_builtin_is_flagged_with_its_target(seed, clean_data):
    from aisec.targets import load_builtin_target

    model = load_builtin_target("digits-cnn-backdoor")
    r = get_test("forensics.backdoor-scan")().run(model, clean_data, seed=seed)
    o = r.outcome
    assert isinstance(o, BackdoorScanOutcome)
    assert o.backdoored and o.target_class == 7
    assert o.anomaly_index > 2 and o.relative_size < 0.5
    assert r.findings[0].rule == "BKD-001" and r.findings[0].severity.rank >= 3
    # STRIP on the recovered trigger: flags triggered inputs, few clean ones
    assert o.strip.trigger == "recovered"
    assert o.strip.detection_rate > 0.7
    assert o.strip.false_positive_rate <= 0.15
    assert o.strip.false_positive_rate_ci95[0] <= o.strip.false_positive_rate
    assert r.artifacts["trigger_mask"].shape == (1, 8, 8)
    from aisec.report.views import view_for

    figures = view_for(r).own_figures(r, True)
    assert [c.split(" ")[0] for c, _ in figures] == ["Anomaly", "Recovered"]
    assert all(uri.startswith("data:image/png") for _, uri in figures)


@pytest.mark.parametrize("seed", [0, 1])
def test_clean_cnn_is_not_flagged(seed, digits_cnn, clean_data):
    r = get_test("forensics.backdoor-scan")().run(digits_cnn, clean_data, seed=seed)
    assert not r.outcome.backdoored and r.outcome.target_class is None
    assert r.outcome.strip.false_positive_rate <= 0.15
    assert r.findings[0].severity.rank <= 1  # info or low


def test_clean_model_of_another_architecture_is_not_flagged(clean_data):
    from poisoning_models import mlp_target

    train = load_builtin("digits:train")
    mlp = mlp_target(train.x, train.y, 0)
    r = get_test("forensics.backdoor-scan")().run(mlp, clean_data, seed=0)
    assert not r.outcome.backdoored


def test_too_little_clean_data_is_refused(digits_cnn):
    from aisec.errors import ParameterError

    small = load_builtin("digits:test").subset(30, seed=0)
    with pytest.raises(ParameterError, match="at least 40 clean samples"):
        get_test("forensics.backdoor-scan")().run(digits_cnn, small)
