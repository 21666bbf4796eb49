"""The base class of every assessable test (attacks, scans, checks).

Hyper-parameters go to the constructor, declared once per parameter (default and constraint
together, inherited from base classes) and checked there: an unknown or misspelt name fails at
construction with a suggestion. The target and data come at call time. The base class owns
the final public :meth:`SecurityTest.run`: it checks the target's capabilities, the data and
the parameters against the target, seeds, times, counts queries, packages the typed outcome
into a :class:`~aisec.records.Result` and applies the test's declared finding rules, once.
A test writes one private method, :meth:`SecurityTest._execute` (a family base may write it
and leave its own single hook to each attack, as evasion does with ``_perturb``).
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, final

import numpy as np

from aisec.errors import DataError, ParameterError
from aisec.params import REQUIRED, Constraint, Param, check_params, collect_parameters
from aisec.records import Finding, Result, Status, jsonable
from aisec.targets.base import Capability, require
from aisec.targets.views import classifier

if TYPE_CHECKING:
    from aisec.data.dataset import Dataset
    from aisec.data.splits import Splits
    from aisec.data.text import TextDataset
    from aisec.findings import FindingRule
    from aisec.records.outcome import Outcome
    from aisec.targets.base import Target

DataKind = Literal["none", "labelled", "splits", "text"]
"""What a test reads: nothing, one labelled set, named labelled splits, or prompts."""


@dataclass(frozen=True)
class Measurement:
    """What :meth:`SecurityTest._execute` returns when the test ran."""

    outcome: Outcome
    """The family's typed outcome."""
    per_sample: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Per-sample arrays of equal length (e.g. ``success``, ``l2``, ``queries``)."""
    artifacts: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Larger arrays kept for reports and forensics (e.g. ``x_adv``)."""


@dataclass(frozen=True)
class NotApplicable:
    """What :meth:`SecurityTest._execute` returns when the test has nothing to measure."""

    reason: str
    """Why, and how to make it applicable."""


class SecurityTest(ABC):
    """A registered, parameterised test that turns ``(target, data)`` into a :class:`Result`.

    Subclasses declare metadata as class attributes and implement :meth:`_execute`.
    """

    id: ClassVar[str]
    """Registered id, e.g. ``evasion.pgd``."""
    name: ClassVar[str]
    """Human-readable name, e.g. ``Projected Gradient Descent``."""
    family: ClassVar[str]
    """Family: ``evasion``, ``poisoning``, ``forensics``, ``inference``, ``extraction``,
    ``prompt``, ``supplychain``."""
    requires: ClassVar[frozenset[Capability]] = frozenset()
    """Target capabilities the test needs."""
    threats: ClassVar[tuple[str, ...]] = ()
    """Catalogue threat ids this test measures."""
    references: ClassVar[tuple[str, ...]] = ()
    """Papers or standards the implementation follows."""
    parameters: ClassVar[Mapping[str, Param]] = {}
    """This class's own parameter declarations (merged over its bases' into ``declared``)."""
    outcome_type: ClassVar[type[Outcome] | None] = None
    """The outcome record the test returns (reads results stored without their kind)."""
    rules: ClassVar[tuple[FindingRule[Any], ...]] = ()
    """Finding rules applied to the outcome, inside :meth:`run`."""
    data_kind: ClassVar[DataKind] = "labelled"
    """What data the test reads."""
    required_splits: ClassVar[tuple[str, ...]] = ()
    """Split roles the test needs, when ``data_kind`` is ``splits``."""
    array_inputs: ClassVar[bool] = False
    """The test works on numeric input arrays (images, tabular features), not on text."""
    uses_target_files: ClassVar[bool] = False
    """The assessment planner passes the target's ``files:`` as the ``paths`` parameter."""

    declared: ClassVar[dict[str, Param]] = {}
    """Every parameter of the test, its bases' included (derived; do not set)."""
    constraints: ClassVar[dict[str, Constraint]] = {}
    """Constraint of every declared parameter (derived from ``declared``)."""
    defaults: ClassVar[dict[str, Any]] = {}
    """Default of every declared parameter that has one (derived from ``declared``)."""
    needs_data: ClassVar[bool] = True
    """Whether the test reads a data set (derived from ``data_kind``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        chain = [k.__dict__.get("parameters", {}) for k in reversed(cls.__mro__)]
        cls.declared = collect_parameters(chain)
        cls.constraints = {n: p.constraint for n, p in cls.declared.items()}
        cls.defaults = {n: p.default for n, p in cls.declared.items() if p.default is not REQUIRED}
        cls.needs_data = cls.data_kind != "none"

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        """The parameters as given."""
        self._resolved = check_params(self.id, self.params, self.declared)

    def resolved_params(self) -> dict[str, Any]:
        """The parameters merged over the declared defaults (checked at construction)."""
        return dict(self._resolved)

    @final
    def run(
        self,
        target: Target,
        data: Dataset | Splits | TextDataset | None = None,
        *,
        seed: int = 0,
    ) -> Result:
        """Run the test; user errors raise, everything the test measured is in the result."""
        params = self.resolved_params()
        require(target, self.requires, f"{self.name} ({self.id})")
        data = self._accept_data(target, data)
        problems = self.check(target, data, params)
        if problems:
            raise ParameterError(self.id, problems)
        start = time.perf_counter()
        target.reset_queries()
        _seed_everything(seed)
        measured = self._execute(target, data, params, seed)
        seconds = time.perf_counter() - start
        unit = unit_ref(self.id, params, target.name, seed)
        if isinstance(measured, NotApplicable):
            return Result.skipped(
                self.id, target.name, measured.reason, params=params, seed=seed, unit=unit,
                seconds=seconds,
            )  # fmt: skip
        result = Result(
            test_id=self.id,
            target=target.name,
            status=Status.OK,
            params=params,
            per_sample=dict(measured.per_sample),
            artifacts=dict(measured.artifacts),
            seconds=seconds,
            seed=seed,
            outcome=measured.outcome,
            unit=unit,
            queries=target.queries,
        )
        return replace(result, findings=tuple(self.findings(result)))

    def check(
        self, target: Target, data: Dataset | Splits | TextDataset | None, params: dict[str, Any]
    ) -> list[str]:
        """Problems with running on this target and data (e.g. a budget beyond the input range)."""
        return []

    @abstractmethod
    def _execute(
        self,
        target: Target,
        data: Any,
        params: dict[str, Any],
        seed: int,
    ) -> Measurement | NotApplicable:
        """Do the work; ``data`` is of the declared ``data_kind`` and already validated."""

    def findings(self, result: Result) -> list[Finding]:
        """The findings of a result by the test's declared rules (none for failed units)."""
        from aisec.findings import Subject

        if not result.ok or result.outcome is None:
            return []
        subject = Subject(self.name, result.test_id, result.target)
        out: list[Finding] = []
        for rule in self.rules:
            out.extend(rule.apply(result.outcome, result, subject, self.threats))
        return out

    def _accept_data(
        self, target: Target, data: Dataset | Splits | TextDataset | None
    ) -> Dataset | Splits | TextDataset | None:
        """Check the data against the declared kind once, at the edge."""
        from aisec.data.dataset import Dataset
        from aisec.data.splits import TEST, Splits
        from aisec.data.text import TextDataset

        what = f"{self.name} ({self.id})"
        kind = self.data_kind
        if kind == "none":
            return data
        if data is None:
            raise DataError(f"{what} needs {_KIND_TEXT[kind]}; give one with `data`")
        if kind == "text":
            if not isinstance(data, TextDataset):
                raise DataError(f"{what} needs {_KIND_TEXT[kind]}; got {type(data).__name__}")
            return data
        if kind == "splits":
            if not isinstance(data, Splits):
                raise DataError(f"{what} needs {_KIND_TEXT[kind]}; got {type(data).__name__}")
            data.require(self.required_splits, what)
            spec = classifier(target, what).spec
            for role, part in data.parts.items():
                spec.check(part.x, part.y, what=f"split {role!r} of {data.name!r}")
            return data
        if isinstance(data, Splits):
            data = data[TEST]
        if not isinstance(data, Dataset):
            raise DataError(f"{what} needs {_KIND_TEXT[kind]}; got {type(data).__name__}")
        if len(data) == 0:
            raise DataError(f"data {data.name!r} has no samples; give at least one")
        classifier(target, what).spec.check(data.x, data.y, what=f"data {data.name!r}")
        return data

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
            "parameters": {n: p.doc for n, p in cls.declared.items()},
            "rules": [r.rule for r in cls.rules],
        }


_KIND_TEXT: dict[str, str] = {
    "labelled": "a labelled data set",
    "splits": "labelled data with named splits",
    "text": "a text data set (prompts)",
}


def unit_ref(test_id: str, params: Mapping[str, Any], target: str, seed: int) -> str:
    """A short, stable key of one test run: test, parameters, target name and seed."""
    blob = json.dumps(
        {"test": test_id, "params": jsonable(dict(params)), "target": target, "seed": seed},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # the scanner and manifests run without torch
        return
    torch.manual_seed(seed)
