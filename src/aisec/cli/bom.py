"""``aisec bom``: write a CycloneDX 1.6 ML-BOM of model files, data sets and the environment."""

from __future__ import annotations

from pathlib import Path

import typer

from aisec.cli.common import err_console, user_errors
from aisec.cli.output import (
    check_output,
    choose_format,
    epilog,
    format_option,
    is_stdout,
    output_option,
    write_output,
)

FORMATS = ("json",)
"""Output formats of ``aisec bom`` (CycloneDX JSON)."""


@user_errors
def bom(
    model: list[Path] = typer.Option(
        ..., "--model", "-m", help="A model file (repeat for several)."
    ),
    data: list[Path] = typer.Option(
        [],
        "--data",
        "-d",
        help="A data-set file used with the models (repeat for several; default: none).",
    ),
    name: str | None = typer.Option(
        None, "--name", help="Name of the system the BOM describes (default: first model's name)."
    ),
    fmt: str | None = format_option(
        None, FORMATS, "Output format: json (CycloneDX 1.6 JSON; the default and only one)."
    ),
    output: Path | None = output_option(
        "Write the BOM to this file instead of stdout (the default)."
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

    choose_format(fmt, FORMATS, default="json")
    check_output(output)
    doc = build_bom(model, data, name=name, include_environment=environment, scan=scan)
    write_output(bom_json(doc), output)
    kinds: dict[str, int] = {}
    for comp in doc.get("components", []):
        kinds[comp["type"]] = kinds.get(comp["type"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    where = "" if is_stdout(output) else f" to {output}"
    err_console.print(f"Wrote CycloneDX 1.6 ML-BOM{where} (schema-valid): {summary}")


def register(app: typer.Typer) -> None:
    """Add the ``bom`` command to the main app."""
    app.command(
        "bom",
        epilog=epilog(
            "aisec bom --model model.safetensors --data train.npz --format json --output bom.json"
        ),
    )(bom)
