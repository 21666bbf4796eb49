"""PRADA: flag model-extraction query streams from the distances between queries.

Juuti et al. (EuroS&P 2019) observe that a benign client's queries are natural samples whose
distances to their nearest earlier query (of the same predicted class) are roughly normally
distributed, while synthetic queries crafted for extraction (random, Jacobian-augmented) are
not. The monitor keeps, per predicted class, a growing set of queries; every new query's minimum
L2 distance to that class's set joins the distance record ``D`` (and the query joins the set
when it is farther than the class's threshold, the mean minus one standard deviation of the
class's distances so far). Once ``D`` holds ``min_queries`` distances, a Shapiro-Wilk ``W``
below ``threshold`` flags the stream.

Known limit (stated by the paper, and measured by aisec's extraction test): streams of natural
samples (Knockoff Nets' data strategy) look benign to PRADA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Prada:
    """A PRADA monitor of one client's query stream."""

    threshold: float = 0.85
    """Shapiro-Wilk ``W`` below which the stream is flagged (the paper tunes it per model;
    benign digits streams stay above 0.9, Jacobian-augmented ones fall below 0.7)."""
    min_queries: int = 100
    """Distances recorded before the test is applied."""
    window: int = 2000
    """Most recent distances the test reads (Shapiro-Wilk is defined up to 5000)."""
    _growing: dict[int, list[np.ndarray]] = field(default_factory=dict, repr=False)
    _dists: dict[int, list[float]] = field(default_factory=dict, repr=False)
    _record: list[float] = field(default_factory=list, repr=False)
    queries: int = 0
    """Queries watched so far."""
    flagged_at: int | None = None
    """Queries watched when the stream was first flagged (None: not flagged)."""

    def observe(self, x: np.ndarray, labels: np.ndarray) -> bool:
        """Watch a batch of queries with the labels the model answered; True once flagged."""
        flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        for row, c in zip(flat, np.asarray(labels).astype(int), strict=True):
            self.queries += 1
            grow = self._growing.setdefault(int(c), [])
            if not grow:
                grow.append(row)
                continue
            d = float(np.sqrt(((np.asarray(grow) - row) ** 2).sum(axis=1)).min())
            dists = self._dists.setdefault(int(c), [])
            dists.append(d)
            self._record.append(d)
            if d > float(np.mean(dists) - np.std(dists)):
                grow.append(row)
            ready = self.flagged_at is None and len(self._record) >= self.min_queries
            if ready and self.statistic() < self.threshold:
                self.flagged_at = self.queries
        return self.flagged_at is not None

    def statistic(self) -> float:
        """Shapiro-Wilk ``W`` of the recent distances (1.0 before there are enough)."""
        from scipy.stats import shapiro

        recent = np.asarray(self._record[-self.window :])
        if len(recent) < 3 or float(np.ptp(recent)) == 0.0:
            return 0.0 if len(recent) >= 3 else 1.0
        return float(shapiro(recent).statistic)


def watch(stream: np.ndarray, labels: np.ndarray, *, threshold: float = 0.85) -> Prada:
    """Run a fresh monitor over a whole stream (in order) and return it."""
    monitor = Prada(threshold=threshold)
    monitor.observe(stream, labels)
    return monitor
