"""One report view per outcome kind: headline columns, summary cells and figures.

Every place that shows a result (the HTML and Markdown reports, the JSON report's headline,
the CLI summary table, ``aisec evade``'s JSON, the risk register's evidence) asks
:func:`view_for` for the result's view instead of guessing metric names. A new family adds its
outcome record and one :class:`OutcomeView` subclass, registered with :func:`register_view`;
nothing shared learns its metric names. Results without a typed outcome (free-form metrics, a
kind this installation does not know) get the :class:`GenericView`, which lays out whatever
the metrics hold.
"""

from __future__ import annotations

from aisec.report.views import defences as _defences  # noqa: F401  (registers its views)
from aisec.report.views import evasion as _evasion  # noqa: F401
from aisec.report.views import poisoning as _poisoning  # noqa: F401
from aisec.report.views import privacy as _privacy  # noqa: F401
from aisec.report.views import prompt as _prompt  # noqa: F401
from aisec.report.views import supplychain as _supplychain  # noqa: F401
from aisec.report.views.base import (
    FIGURES,
    GenericView,
    OutcomeView,
    SummaryCells,
    register_view,
    view_for,
)

__all__ = ["FIGURES", "GenericView", "OutcomeView", "SummaryCells", "register_view", "view_for"]
