"""Frozen records shared by every part of aisec: severities, findings and test results.

Records are plain data: they serialise to JSON (``to_dict``) and back (``from_dict``), so the
results store, the reports and any remote executor can exchange them without pickling. Each
family's typed outcome records live in a module of this package (``records/evasion.py``,
``records/supplychain.py``) and derive from :class:`~aisec.records.outcome.Outcome`.
"""

from __future__ import annotations

import enum
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aisec.records.outcome import Outcome, outcome_class

if TYPE_CHECKING:
    import numpy as np

# NumPy is imported only where arrays are built (``Result``); the JSON helpers look for numpy
# values only once something has imported NumPy, so the scanner and the other torch-free
# commands never pay for it.


class Severity(str, enum.Enum):
    """How much a finding matters, ordered from ``info`` to ``critical``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order info < low < medium < high < critical."""
        return _SEVERITY_ORDER.index(self)

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        """Parse a severity name, case-insensitively, with a helpful error."""
        if isinstance(value, Severity):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            from aisec.errors import ConfigError

            allowed = ", ".join(s.value for s in _SEVERITY_ORDER)
            raise ConfigError([f"severity must be one of {allowed}; got {value!r}"]) from None


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


def severity_at(value: float, thresholds: Mapping[Severity, float]) -> Severity:
    """The highest severity whose threshold ``value`` reaches (``info`` when it reaches none).

    Finding rules state their thresholds as data, e.g. ``{HIGH: 0.5, MEDIUM: 0.2, LOW: 0.05}``.
    """
    for severity in reversed(_SEVERITY_ORDER):
        limit = thresholds.get(severity)
        if limit is not None and value >= limit:
            return severity
    return Severity.INFO


class Status(str, enum.Enum):
    """Outcome of one unit of work: it ran, it was skipped (with a reason), or it failed."""

    OK = "ok"
    SKIPPED = "skipped"
    ERROR = "error"


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays and nested containers into plain JSON values (NaN -> None)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    np = sys.modules.get("numpy")  # no numpy value exists before NumPy is imported
    if np is not None and isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if np is not None and isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, enum.Enum):
        return value.value
    return value


@dataclass(frozen=True)
class Finding:
    """One security-relevant observation, derived from a result by a documented rule."""

    id: str
    """Stable identifier of the rule instance, e.g. ``EVA-001:digits-cnn:evasion.pgd``."""
    rule: str
    """The documented rule that produced it, e.g. ``EVA-001`` (see docs/findings.md)."""
    title: str
    """One-line summary for tables."""
    severity: Severity
    """How much it matters."""
    target: str
    """Name of the affected target (model, file or system)."""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """Measured values that justify the finding (JSON-serialisable)."""
    test_id: str = ""
    """The aisec test that produced the evidence, e.g. ``evasion.pgd``."""
    threats: tuple[str, ...] = ()
    """Catalogue threat ids this finding evidences, e.g. ``("evasion-digital",)``."""
    recommendation: str = ""
    """What to do about it."""
    location: str = ""
    """Where in the target it was found (file path, archive member, byte offset), if any."""
    unit: str = ""
    """Key of the unit of work whose result produced it (tells two units of one test apart)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "id": self.id,
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity.value,
            "target": self.target,
            "evidence": _jsonable(dict(self.evidence)),
            "test_id": self.test_id,
            "threats": list(self.threats),
            "recommendation": self.recommendation,
            "location": self.location,
            "unit": self.unit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=data["id"],
            rule=data["rule"],
            title=data["title"],
            severity=Severity(data["severity"]),
            target=data["target"],
            evidence=dict(data.get("evidence", {})),
            test_id=data.get("test_id", ""),
            threats=tuple(data.get("threats", ())),
            recommendation=data.get("recommendation", ""),
            location=data.get("location", ""),
            unit=data.get("unit", ""),
        )


@dataclass(frozen=True)
class Result:
    """What one unit of work produced: summary metrics, per-sample arrays and artefacts.

    ``skipped`` and ``error`` are results too: a run never aborts because one test could not run.
    """

    test_id: str
    """Registered id of the test, e.g. ``evasion.pgd``."""
    target: str
    """Name of the target it ran against."""
    status: Status
    """ok, skipped or error."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Hyper-parameters the test ran with (after defaults were applied)."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """The JSON form of ``outcome`` (filled from it), or free-form metrics of a result made
    without a typed outcome; generic tables show it."""
    per_sample: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Per-sample arrays of equal length (e.g. ``success``, ``linf``, ``l2``, ``queries``)."""
    artifacts: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Larger arrays kept for reports and forensics (e.g. ``x_adv``, ``patch``)."""
    seconds: float = 0.0
    """Wall-clock time the test took."""
    message: str = ""
    """Why it was skipped or failed; empty when ok."""
    seed: int = 0
    """Seed the unit ran with."""
    outcome: Outcome | None = None
    """The family's typed outcome record (None for skipped and errored units)."""
    findings: tuple[Finding, ...] = ()
    """Findings computed from the outcome inside ``run()`` by the test's declared rules."""
    findings_stored: bool = True
    """False for results stored before findings were stored with them (re-derived on load)."""
    unit: str = ""
    """Key of the unit of work (a hash of test, parameters, target and seed)."""
    queries: int = 0
    """Queries the target answered while the test ran."""

    def __post_init__(self) -> None:
        if self.outcome is not None and not self.metrics:
            object.__setattr__(self, "metrics", self.outcome.to_dict())

    @property
    def ok(self) -> bool:
        """True when the test ran to completion."""
        return self.status is Status.OK

    def to_dict(self, *, include_arrays: bool = True) -> dict[str, Any]:
        """JSON-serialisable form; artefacts are left out (they live in the store as npz)."""
        out: dict[str, Any] = {
            "test_id": self.test_id,
            "target": self.target,
            "status": self.status.value,
            "params": _jsonable(dict(self.params)),
            "metrics": _jsonable(dict(self.metrics)),
            "seconds": float(self.seconds),
            "message": self.message,
            "seed": int(self.seed),
            "outcome_kind": self.outcome.kind if self.outcome is not None else None,
            "findings": [f.to_dict() for f in self.findings],
            "unit": self.unit,
            "queries": int(self.queries),
        }
        if include_arrays:
            import numpy as np

            out["per_sample"] = {k: _jsonable(np.asarray(v)) for k, v in self.per_sample.items()}
        return out

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], artifacts: Mapping[str, np.ndarray] | None = None
    ) -> Result:
        """Inverse of :meth:`to_dict` (artefacts come separately)."""
        import numpy as np

        per_sample = {
            k: np.asarray(v if v is not None else [], dtype=None if v else float)
            for k, v in dict(data.get("per_sample", {})).items()
        }
        metrics = dict(data.get("metrics", {}))
        kind = data.get("outcome_kind")
        record = outcome_class(kind) if kind else None
        return cls(
            test_id=data["test_id"],
            target=data["target"],
            status=Status(data["status"]),
            params=dict(data.get("params", {})),
            metrics=metrics,
            per_sample=per_sample,
            artifacts=dict(artifacts or {}),
            seconds=float(data.get("seconds", 0.0)),
            message=data.get("message", ""),
            seed=int(data.get("seed", 0)),
            outcome=record.from_dict(metrics) if record is not None and metrics else None,
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            findings_stored="findings" in data,
            unit=str(data.get("unit", "")),
            queries=int(data.get("queries", 0)),
        )

    def with_unit(self, unit: str) -> Result:
        """The same result (and findings) keyed by the unit of work ``unit``."""
        from dataclasses import replace

        return replace(
            self, unit=unit, findings=tuple(replace(f, unit=unit) for f in self.findings)
        )

    @classmethod
    def skipped(cls, test_id: str, target: str, reason: str, **kw: Any) -> Result:
        """A result saying the test did not run, and why."""
        return cls(test_id=test_id, target=target, status=Status.SKIPPED, message=reason, **kw)

    @classmethod
    def error(cls, test_id: str, target: str, reason: str, **kw: Any) -> Result:
        """A result saying the test failed, and why."""
        return cls(test_id=test_id, target=target, status=Status.ERROR, message=reason, **kw)


def jsonable(value: Any) -> Any:
    """Public helper: convert numpy values and containers to plain JSON values."""
    return _jsonable(value)
