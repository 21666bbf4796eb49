"""Write a run's reports to a folder: report.html, report.json, report.md and report.sarif.

Each file is written to a temporary name and renamed into place, so a reader never sees a
half-written report.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from aisec.errors import AisecError

if TYPE_CHECKING:
    from aisec.report.model import ReportData

FORMATS: tuple[str, ...] = ("html", "json", "md", "sarif")
"""Report formats :func:`write_reports` knows, in the order they are written."""

FILE_NAMES: dict[str, str] = {
    "html": "report.html",
    "json": "report.json",
    "md": "report.md",
    "sarif": "report.sarif",
}
"""File name of each format inside the output folder."""


def write_reports(
    data: ReportData, out_dir: Path, formats: Iterable[str] = FORMATS
) -> dict[str, Path]:
    """Render ``data`` in each requested format and write the files into ``out_dir``.

    Args:
        data: The run, as loaded from the results store.
        out_dir: Folder to write into (created when missing).
        formats: Any of ``html``, ``json``, ``md``, ``sarif``.

    Returns:
        The path written for each format, keyed by format name.

    Raises:
        AisecError: An unknown format name, or the output folder cannot be written.
    """
    wanted = [str(f).strip().lower() for f in formats]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise AisecError(
            f"Unknown report format {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(FORMATS)}"
        )
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AisecError(
            f"Cannot create the report folder {str(out)!r}: {exc.strerror}; choose another --output"
        ) from None
    written: dict[str, Path] = {}
    for fmt in FORMATS:
        if fmt not in wanted:
            continue
        render = _renderer(fmt)
        path = out / FILE_NAMES[fmt]
        _atomic_write(path, render(data))
        written[fmt] = path
    return written


def _renderer(fmt: str) -> Callable[[ReportData], str]:
    if fmt == "html":
        from aisec.report.html import render_html

        return render_html
    if fmt == "json":
        from aisec.report.json_report import render_json

        return render_json
    if fmt == "md":
        from aisec.report.markdown import render_markdown

        return render_markdown
    return _render_sarif


def _render_sarif(data: ReportData) -> str:
    from aisec.report.sarif import report_to_sarif

    doc = report_to_sarif(data, tool_name="aisec")
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise AisecError(
            f"Cannot write the report {str(path)!r}: {exc.strerror}; check the folder's permissions"
        ) from None
