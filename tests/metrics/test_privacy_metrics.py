"""Privacy metrics against scikit-learn's and closed-form values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score, roc_curve

from aisec.metrics.privacy import auc, clopper_pearson, privacy_figures, roc, tpr_at_fpr


def test_auc_and_roc_match_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(0)
    pos = np.round(rng.normal(0.4, 1, 500), 1)  # rounding makes many ties
    neg = np.round(rng.normal(0.0, 1, 700), 1)
    labels = np.r_[np.ones(500), np.zeros(700)]
    curve = roc(pos, neg)
    assert auc(curve) == pytest.approx(roc_auc_score(labels, np.r_[pos, neg]), abs=1e-12)
    fpr, tpr, _ = roc_curve(labels, np.r_[pos, neg])
    for x in (0.001, 0.01, 0.1, 0.5):
        assert tpr_at_fpr(curve, x) == pytest.approx(tpr[fpr <= x].max())


def test_gaussian_scores_give_the_closed_form_auc_and_tpr() -> None:
    # members ~ N(mu, 1), non-members ~ N(0, 1): AUC = Phi(mu / sqrt 2),
    # TPR at FPR a = 1 - Phi(Phi^-1(1 - a) - mu)
    rng = np.random.default_rng(1)
    mu = 1.0
    figs = privacy_figures(rng.normal(mu, 1, 40_000), rng.normal(0, 1, 40_000), n_bootstrap=20)
    assert figs.auc == pytest.approx(norm.cdf(mu / np.sqrt(2)), abs=0.005)
    assert figs.tpr_at_1pct_fpr == pytest.approx(1 - norm.cdf(norm.ppf(0.99) - mu), abs=0.01)
    assert figs.tpr_at_01pct_fpr == pytest.approx(1 - norm.cdf(norm.ppf(0.999) - mu), abs=0.006)
    assert figs.auc_ci[0] < figs.auc < figs.auc_ci[1]


def test_identical_distributions_give_chance_and_intervals_that_cover_it() -> None:
    rng = np.random.default_rng(2)
    figs = privacy_figures(rng.normal(0, 1, 5000), rng.normal(0, 1, 5000), n_bootstrap=200)
    assert figs.auc_ci[0] < 0.5 < figs.auc_ci[1]
    assert figs.tpr_at_1pct_fpr_ci[0] <= 0.01 <= figs.tpr_at_1pct_fpr_ci[1]
    assert figs.balanced_accuracy < 0.53


def test_clopper_pearson_matches_its_known_values() -> None:
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))
    lo, hi = clopper_pearson(5, 10)
    assert lo == pytest.approx(0.18709, abs=1e-4) and hi == pytest.approx(0.81291, abs=1e-4)
