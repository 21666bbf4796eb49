"""Run one unit of an assessment: the same function in the driver and on a Ray worker."""

from __future__ import annotations

import traceback
from pathlib import Path

from aisec.assessment.plan import Unit
from aisec.data import Dataset
from aisec.data.splits import Splits
from aisec.errors import AisecError, CapabilityError
from aisec.records import Result
from aisec.registry import get_test
from aisec.targets.base import Target


def run_unit(unit: Unit, target: Target, data: Dataset | Splits | None) -> Result:
    """Run one unit; a missing capability is a skipped result, a crash an error result.

    The result and its findings carry the unit's key, so two units of one test on one target
    keep their own findings.
    """
    kw = {"params": unit.params, "seed": unit.seed, "unit": unit.key}
    try:
        test = get_test(unit.test_id)(**unit.params)
        return test.run(target, data, seed=unit.seed).with_unit(unit.key)
    except CapabilityError as exc:
        return Result.skipped(unit.test_id, target.name, str(exc), **kw)
    except AisecError as exc:
        return Result.error(unit.test_id, target.name, str(exc), **kw)
    except Exception as exc:  # an unexpected failure of one unit must not abort the run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        msg = f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
        return Result.error(unit.test_id, target.name, msg, **kw)
