"""Natural-corruption robustness on real models (torch and scikit-learn)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from aisec.attacks.evasion.corruptions import CORRUPTIONS, Corruptions, corrupt, corruption_severity
from aisec.data import load_builtin
from aisec.data.dataset import Dataset
from aisec.errors import ParameterError
from aisec.records import Severity
from aisec.targets import load_builtin_target
from aisec.targets.base import InputSpec
from aisec.targets.sklearn import SklearnClassifier


@pytest.fixture(scope="module")
def signs_result():
    target = load_builtin_target("signs-cnn")
    data = load_builtin("signs:test").subset(300, seed=0)
    return Corruptions().run(target, data, seed=0)


def test_accuracy_falls_with_severity(signs_result) -> None:
    m = signs_result.metrics
    assert [c["corruption"] for c in m["per_corruption"][::5]] == list(CORRUPTIONS)
    for name in ("contrast", "gaussian_blur", "brightness"):
        acc = m["accuracy"][name]
        assert acc[4] < acc[0] - 0.1, name
        assert all(b <= a + 0.02 for a, b in itertools.pairwise(acc)), name
    assert m["mean_corruption_accuracy"] < m["clean_accuracy"]
    drop = (m["clean_accuracy"] - m["mean_corruption_accuracy"]) / m["clean_accuracy"]
    assert m["relative_drop"] == pytest.approx(drop)
    assert m["worst"]["accuracy"] == min(c["accuracy"] for c in m["per_corruption"])
    per = signs_result.per_sample["corrupted_accuracy"]
    assert float(per.mean()) == pytest.approx(m["mean_corruption_accuracy"])


def test_findings_follow_cor001(signs_result) -> None:
    (f,) = Corruptions().findings(signs_result)
    assert f.rule == "COR-001" and f.threats == ("natural-corruption",)
    assert f.severity == corruption_severity(signs_result.metrics["relative_drop"])
    assert corruption_severity(0.6) is Severity.HIGH and corruption_severity(0.01) is Severity.INFO


def test_corruptions_are_seeded_and_stay_in_bounds() -> None:
    x = load_builtin("signs:test").x[:20]
    for name in CORRUPTIONS:
        for s in (1, 5):
            a = corrupt(x, name, s, rng=np.random.default_rng(0))
            b = corrupt(x, name, s, rng=np.random.default_rng(0))
            assert a.shape == x.shape and a.dtype == np.float32
            assert np.array_equal(a, b)
            assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    # Stronger severities move images further from the originals.
    for name in ("gaussian_noise", "gaussian_blur", "contrast", "jpeg"):
        d1 = np.abs(corrupt(x, name, 1) - x).mean()
        d5 = np.abs(corrupt(x, name, 5) - x).mean()
        assert d5 > d1 > 0, name
    # Other bounds are respected too.
    wide = x * 2 - 1
    out = corrupt(wide, "brightness", 5, bounds=(-1.0, 1.0))
    assert float(out.min()) >= -1.0 and float(out.max()) <= 1.0 and out.mean() > wide.mean()


def test_works_for_scikit_learn_and_skips_image_corruptions_on_tabular_data() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    iris = load_iris()
    x = ((iris.data - iris.data.min(0)) / np.ptp(iris.data, 0)).astype(np.float32)
    y = iris.target.astype(np.int64)
    clf = LogisticRegression(max_iter=1000).fit(x, y)
    target = SklearnClassifier(estimator=clf, spec=InputSpec(shape=(4,), n_classes=3), name="iris")
    r = Corruptions(severities=[1, 5]).run(target, Dataset(x, y, "iris"), seed=0)
    assert r.ok and r.metrics["skipped"] == ["gaussian_blur", "jpeg"]
    assert set(r.metrics["accuracy"]) == {"gaussian_noise", "brightness", "contrast"}
    assert r.metrics["accuracy"]["contrast"][1] < r.metrics["accuracy"]["contrast"][0]
    with pytest.raises(ParameterError, match="need image inputs"):
        Corruptions(corruptions=["jpeg"]).run(target, Dataset(x, y, "iris"))


def test_digits_logreg_under_corruptions(digits_logreg, digits_small) -> None:
    r = Corruptions(corruptions=["jpeg", "contrast"], severities=[1, 3, 5]).run(
        digits_logreg, digits_small
    )
    assert r.metrics["skipped"] == []
    assert r.metrics["accuracy"]["contrast"][-1] < r.metrics["accuracy"]["contrast"][0]
    with pytest.raises(ParameterError):
        Corruptions(severities=[0]).run(digits_logreg, digits_small)
    with pytest.raises(ParameterError):
        Corruptions(corruptions=["fog"]).run(digits_logreg, digits_small)
