"""The base class of every assessable test (attacks, scans, checks).

Hyper-parameters go to the constructor and are stored as given; the target and data come at
call time. The base class owns the public :meth:`SecurityTest.run`: it validates parameters
against declared constraints, checks the target's capabilities, seeds, times and packages the
result. Each test writes one private method, :meth:`SecurityTest._run`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from aisec.errors import AisecError
from aisec.params import Constraint, validate_params
from aisec.records import Finding, Result, Status
from aisec.targets.base import Capability, require

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.targets.base import Target


class SecurityTest(ABC):
    """A registered, parameterised test that turns ``(target, data)`` into a :class:`Result`.

    Subclasses declare metadata as class attributes and implement :meth:`_run`.
    """

    id: ClassVar[str]
    """Registered id, e.g. ``evasion.pgd``."""
    name: ClassVar[str]
    """Human-readable name, e.g. ``Projected Gradient Descent``."""
    family: ClassVar[str]
    """Family: ``evasion``, ``poisoning``, ``inference``, ``extraction``, ``prompt``, ``supplychain``."""
    requires: ClassVar[frozenset[Capability]] = frozenset()
    """Target capabilities the test needs."""
    threats: ClassVar[tuple[str, ...]] = ()
    """Catalogue threat ids this test measures."""
    references: ClassVar[tuple[str, ...]] = ()
    """Papers or standards the implementation follows."""
    constraints: ClassVar[Mapping[str, Constraint]] = {}
    """Declared constraints of every parameter."""
    defaults: ClassVar[Mapping[str, Any]] = {}
    """Default parameter values."""
    needs_data: ClassVar[bool] = True
    """Whether the test needs a labelled data set."""

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)

    def resolved_params(self) -> dict[str, Any]:
        """Parameters merged over defaults and validated (raises ParameterError)."""
        return validate_params(self.id, self.params, self.constraints, self.defaults)

    def run(self, target: Target, data: Dataset | None = None, *, seed: int = 0) -> Result:
        """Run the test; user errors raise, everything else is packaged into the result."""
        params = self.resolved_params()
        require(target, self.requires, f"{self.name} ({self.id})")
        self.validate(target, data, params)
        start = time.perf_counter()
        target.reset_queries()
        _seed_everything(seed)
        result = self._run(target, data, params, seed)
        seconds = time.perf_counter() - start
        return Result(
            test_id=self.id,
            target=target.name,
            status=result.status,
            params=params,
            metrics=result.metrics,
            per_sample=result.per_sample,
            artifacts=result.artifacts,
            seconds=seconds,
            message=result.message,
            seed=seed,
        )

    def validate(self, target: Target, data: Dataset | None, params: dict[str, Any]) -> None:
        """Check target/data compatibility beyond capabilities; raise AisecError subclasses."""
        if self.needs_data:
            if data is None:
                raise AisecError(f"{self.id} needs a labelled data set; give one with `data`")
            target.spec.check(data.x, data.y, what=f"data {data.name!r}")

    @abstractmethod
    def _run(
        self, target: Target, data: Dataset | None, params: dict[str, Any], seed: int
    ) -> Result:
        """Do the work; return a Result (its test_id/target/params/seconds are filled in by run)."""

    def findings(self, result: Result) -> list[Finding]:
        """Turn a result into findings by the test's documented rules (none by default)."""
        return []

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Metadata for reports and the catalogue."""
        return {
            "id": cls.id,
            "name": cls.name,
            "family": cls.family,
            "requires": sorted(c.value for c in cls.requires),
            "threats": list(cls.threats),
            "references": list(cls.references),
            "defaults": dict(cls.defaults),
        }


def partial_result(
    metrics: Mapping[str, Any],
    per_sample: Mapping[str, np.ndarray] | None = None,
    artifacts: Mapping[str, np.ndarray] | None = None,
    status: Status = Status.OK,
    message: str = "",
) -> Result:
    """Convenience for ``_run``: a Result whose identity fields the base class fills in."""
    return Result(
        test_id="",
        target="",
        status=status,
        metrics=dict(metrics),
        per_sample=dict(per_sample or {}),
        artifacts=dict(artifacts or {}),
        message=message,
    )


def _seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
