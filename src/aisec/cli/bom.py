"""``aisec bom``: write a CycloneDX 1.6 ML-BOM of model files, data sets and the environment."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from aisec.cli.common import err_console, fail, user_errors


@user_errors
def bom(
    model: list[Path] = typer.Option(
        ..., "--model", "-m", help="A model file (repeat for several)."
    ),
    data: list[Path] = typer.Option(
        [], "--data", "-d", help="A data-set file used with the models (repeat for several)."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Name of the system the BOM describes (default: first model's name)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the BOM here instead of stdout."
    ),
    environment: bool = typer.Option(
        True,
        "--environment/--no-environment",
        help="List the Python distributions of the running environment as libraries.",
    ),
    scan: bool = typer.Option(
        False, "--scan", help="Scan each model file and record the verdict in its model card."
    ),
) -> None:
    """Describe models, data sets and Python dependencies as a CycloneDX 1.6 ML-BOM (JSON)."""
    from aisec.supplychain.bom import bom_json, build_bom

    if output is not None and not output.parent.is_dir():
        raise fail(f"folder {str(output.parent)!r} does not exist; create it or change --output")
    doc = build_bom(model, data, name=name, include_environment=environment, scan=scan)
    text = bom_json(doc)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    kinds: dict[str, int] = {}
    for comp in doc.get("components", []):
        kinds[comp["type"]] = kinds.get(comp["type"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    where = f" to {output}" if output is not None else ""
    err_console.print(f"Wrote CycloneDX 1.6 ML-BOM{where} (schema-valid): {summary}")


def register(app: typer.Typer) -> None:
    """Add the ``bom`` command to the main app."""
    app.command("bom")(bom)
