"""A hostile/benign corpus written once per session by the real libraries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from corpus import Sample, write_corpus


@dataclass(frozen=True)
class Corpus:
    """Where the corpus lives and what it holds."""

    folder: Path
    marker: Path
    samples: list[Sample]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Every sample of :mod:`corpus` (``corpus.py`` beside this file), with a marker path
    that only an executed payload would create."""
    root = tmp_path_factory.mktemp("scan-corpus")
    marker = root / "marker-created-by-payload"
    samples = write_corpus(root / "corpus", marker)
    return Corpus(root / "corpus", marker, samples)
