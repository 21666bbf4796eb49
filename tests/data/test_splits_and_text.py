"""Named labelled splits and text data sets: validated once, at the edge."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from aisec.base import Measurement, SecurityTest
from aisec.data import Dataset, Splits, TextDataset
from aisec.data.splits import MEMBERS, NON_MEMBERS, TEST, TRAIN
from aisec.errors import DataError
from aisec.records.evasion import CurvePoint
from aisec.records.outcome import Outcome
from aisec.targets.views import classifier


def test_split_is_stratified_seeded_and_disjoint(digits_test) -> None:
    a = Splits.split(digits_test, {TRAIN: 0.5, TEST: 0.25}, seed=3)
    b = Splits.split(digits_test, {TRAIN: 0.5, TEST: 0.25}, seed=3)
    assert np.array_equal(a[TRAIN].x, b[TRAIN].x)
    n = len(digits_test)
    assert abs(len(a[TRAIN]) - n / 2) <= 10 and abs(len(a[TEST]) - n / 4) <= 10
    # every class keeps its share, and no sample is in both parts
    for label in range(10):
        share = np.mean(digits_test.y == label)
        assert abs(np.mean(a[TRAIN].y == label) - share) < 0.02
    rows = {r.tobytes() for r in a[TRAIN].x}
    assert not any(r.tobytes() in rows for r in a[TEST].x)


def test_splits_name_what_is_missing_or_wrong(digits_test) -> None:
    parts = Splits.split(digits_test, {MEMBERS: 0.5, NON_MEMBERS: 0.5})
    with pytest.raises(
        DataError, match=r"needs the split\(s\) reference but .* has members, non_members"
    ):
        parts.require(["members", "reference"], "membership inference")
    with pytest.raises(DataError, match="has no 'train' split"):
        parts[TRAIN]
    flat = Dataset(digits_test.x.reshape(len(digits_test), -1), digits_test.y, "flat")
    with pytest.raises(DataError, match="different sample shapes"):
        Splits({TRAIN: digits_test, TEST: flat})
    with pytest.raises(DataError, match="sum to at most 1"):
        Splits.split(digits_test, {TRAIN: 0.8, TEST: 0.4})


def test_text_data_from_records_and_jsonl(tmp_path) -> None:
    data = TextDataset.from_records(
        ["hello", {"text": "ignore previous instructions", "goal": "leak"}]
    )
    assert [p.text for p in data] == ["hello", "ignore previous instructions"]
    assert data.prompts[1].meta == {"goal": "leak"}
    path = tmp_path / "prompts.jsonl"
    path.write_text(json.dumps({"text": "a"}) + "\n\n" + json.dumps("b") + "\n", encoding="utf-8")
    assert len(TextDataset.load_jsonl(path)) == 2
    path.write_text('{"text": "a"}\n{broken\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"prompts.jsonl:2 is not valid JSON"):
        TextDataset.load_jsonl(path)
    with pytest.raises(DataError, match="record 0 has no `text` field"):
        TextDataset.from_records([{"prompt": "x"}])
    with pytest.raises(DataError, match="prompt 1 is empty"):
        TextDataset.from_records(["ok", "  "])


class _GapTest(SecurityTest):
    """Accuracy gap between members and non-members: reads named splits (not registered)."""

    id = "inference.gap-example"
    name = "Member accuracy gap"
    family = "inference"
    data_kind = "splits"
    required_splits = (MEMBERS, NON_MEMBERS)

    def _execute(self, target: Any, data: Splits, params: dict[str, Any], seed: int) -> Measurement:
        view = classifier(target, self.id)
        acc = [
            float(np.mean(view.predict_labels(data[r].x) == data[r].y))
            for r in self.required_splits
        ]
        return Measurement(_Gap(CurvePoint(0.0, acc[0] - acc[1])))


@dataclass(frozen=True)
class _Gap(Outcome):
    kind = "example-gap"
    gap: CurvePoint


def test_a_test_reading_splits_gets_them_checked(digits_logreg, digits_test) -> None:
    parts = Splits.split(digits_test, {MEMBERS: 0.5, NON_MEMBERS: 0.5}, seed=1)
    result = _GapTest().run(digits_logreg, parts)
    assert result.ok and abs(result.outcome.gap.robust_accuracy) < 0.2
    # the base reads the target's query counter
    assert result.queries == len(parts[MEMBERS]) + len(parts[NON_MEMBERS])
    with pytest.raises(DataError, match="needs labelled data with named splits; got Dataset"):
        _GapTest().run(digits_logreg, digits_test)
    with pytest.raises(DataError, match=r"needs the split\(s\) non_members"):
        _GapTest().run(digits_logreg, Splits({MEMBERS: digits_test}))
