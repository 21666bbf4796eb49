"""Linear binary classifiers on two digit classes, whose minimal perturbations have closed forms.

For ``f(x) = w . x + b`` (positive for class 1) the smallest perturbation that crosses the
boundary has L2 norm ``|f(x)| / ||w||_2`` and L-inf norm ``|f(x)| / ||w||_1``. The models
declare input bounds (-10, 10), far wider than the data in [0, 1], and the fixtures assert the
box never binds at the minimal perturbation, so the closed form is the exact oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from aisec.data.dataset import Dataset
from aisec.targets.base import InputSpec
from aisec.targets.sklearn import SklearnClassifier
from aisec.targets.torch import TorchClassifier

CLASSES = (3, 8)
WIDE = InputSpec(shape=(1, 8, 8), n_classes=2, bounds=(-10.0, 10.0))


@dataclass(frozen=True)
class LinearCase:
    """A linear target, its data and the exact minimal norms of its correctly classified points."""

    target: TorchClassifier | SklearnClassifier
    data: Dataset
    w: np.ndarray
    b: float
    correct: np.ndarray

    def margin(self) -> np.ndarray:
        """``f(x)`` for every point (float64)."""
        return self.data.x.reshape(len(self.data), -1).astype(np.float64) @ self.w + self.b

    def minimal(self, norm: str) -> np.ndarray:
        """Closed-form minimal perturbation per point (meaningful where ``correct``)."""
        dual = np.abs(self.w).sum() if norm == "linf" else np.linalg.norm(self.w)
        return np.abs(self.margin()) / dual


def _binary_split(split: str) -> Dataset:
    from aisec.data import load_builtin

    d = load_builtin(f"digits:{split}")
    keep = np.isin(d.y, CLASSES)
    y = (d.y[keep] == CLASSES[1]).astype(np.int64)
    return Dataset(d.x[keep], y, name=f"digits-{CLASSES[0]}v{CLASSES[1]}:{split}")


def _check_box(case: LinearCase) -> None:
    """The minimal L2 and L-inf perturbations stay inside the declared bounds."""
    lo, hi = WIDE.bounds
    x = case.data.x.reshape(len(case.data), -1).astype(np.float64)
    room = np.minimum(x - lo, hi - x).min(1)
    for norm in ("l2", "linf"):
        assert np.all(case.minimal(norm)[case.correct] < room[case.correct])


@pytest.fixture(scope="session")
def binary_test() -> Dataset:
    """Test images of digits 3 (label 0) and 8 (label 1)."""
    return _binary_split("test")


@pytest.fixture(scope="session")
def linear_torch(binary_test: Dataset) -> LinearCase:
    """A one-layer torch model (two logits) trained on 3 vs 8; f = z1 - z0."""
    train = _binary_split("train")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    x, y = torch.as_tensor(train.x), torch.as_tensor(train.y)
    opt = torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-3)
    for _ in range(200):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    lin = model[1]
    w = (lin.weight[1] - lin.weight[0]).detach().double().numpy()
    b = float((lin.bias[1] - lin.bias[0]).detach().double())
    target = TorchClassifier(model=model, spec=WIDE, name="linear-torch")
    pred = target.predict_labels(binary_test.x)
    case = LinearCase(target, binary_test, w, b, pred == binary_test.y)
    assert case.correct.mean() > 0.9
    _check_box(case)
    return case


@pytest.fixture(scope="session")
def linear_sklearn(binary_test: Dataset) -> LinearCase:
    """scikit-learn logistic regression on 3 vs 8, wrapped as a SklearnClassifier."""
    from sklearn.linear_model import LogisticRegression

    train = _binary_split("train")
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(train.x.reshape(len(train.x), -1), train.y)
    target = SklearnClassifier(estimator=clf, spec=WIDE, name="linear-sklearn")
    pred = target.predict_labels(binary_test.x)
    case = LinearCase(
        target,
        binary_test,
        clf.coef_[0].astype(np.float64),
        float(clf.intercept_[0]),
        pred == binary_test.y,
    )
    assert case.correct.mean() > 0.9
    _check_box(case)
    return case
