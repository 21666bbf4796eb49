"""The Jinja2 environment of the threat-model templates in ``aisec/report/templates``.

Autoescaping is on for every template, and an undefined name is an error rather than an
empty string, so a template cannot silently drop a value or insert unescaped text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def environment() -> Any:
    """The shared, cached ``jinja2.Environment`` (autoescape on, strict undefined)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("aisec.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
