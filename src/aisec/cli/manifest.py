"""``aisec manifest``: create and verify SHA-256 integrity manifests, sign them with Ed25519."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from aisec.cli.common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, err_console, fail, user_errors
from aisec.cli.output import (
    check_output,
    choose_format,
    epilog,
    format_option,
    is_stdout,
    output_option,
    write_output,
)
from aisec.cli.tables import Col, fitted_table

if TYPE_CHECKING:
    from aisec.supplychain.manifest import Verification

CREATE_FORMATS = ("json",)
"""Formats of the manifest ``aisec manifest create`` writes."""
VERIFY_FORMATS = ("table", "json")
"""Output formats of ``aisec manifest verify``."""

manifest_app = typer.Typer(
    name="manifest",
    help="Integrity manifests: SHA-256 of every model, data and config file, optionally signed.",
    no_args_is_help=True,
    epilog=epilog(
        "aisec manifest keygen --output release",
        "aisec manifest create release/ --sign-key release.key.pem",
        "aisec manifest verify release/ --public-key release.pub.pem",
        exit_codes=f"{EXIT_OK} ok, {EXIT_FINDINGS} verify found a difference or a bad "
        f"signature, {EXIT_USAGE} usage or input error",
    ),
)


@manifest_app.command(
    "create",
    epilog=epilog("aisec manifest create release/ --format json --output release.manifest.json"),
)
@user_errors
def create(
    directory: Path = typer.Argument(..., help="Folder holding the model, data and config files."),
    output: Path | None = output_option(
        "Manifest file to write (default: DIR/aisec-manifest.json)."
    ),
    fmt: str | None = format_option(
        None, CREATE_FORMATS, "Manifest format: json (the default and only one)."
    ),
    sign_key: Path | None = typer.Option(
        None,
        "--sign-key",
        help="Ed25519 private key (PEM) to sign the manifest with (default: unsigned).",
    ),
) -> None:
    """Hash every file under DIR and write a manifest (the manifest itself is never hashed)."""
    from aisec.supplychain.manifest import (
        MANIFEST_NAME,
        check_folder,
        create_manifest,
        load_private_key,
    )

    choose_format(fmt, CREATE_FORMATS, default="json")
    check_folder(directory)
    key = load_private_key(sign_key) if sign_key is not None else None
    target = output if output is not None else directory / MANIFEST_NAME
    if not target.parent.is_dir():
        raise fail(f"folder {str(target.parent)!r} does not exist; create it or change --output")
    manifest = create_manifest(directory, private_key=key, exclude=[target])
    manifest.save(target)
    kinds: dict[str, int] = {}
    for entry in manifest.files:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no files"
    signed = " (signed)" if manifest.signature is not None else ""
    err_console.print(f"Wrote {target}{signed}: {len(manifest.files)} files ({summary})")
    for rel in manifest.skipped:
        err_console.print(f"[yellow]skipped[/] {rel} (link leaving the folder, or not a file)")


_SIGNATURE_MESSAGES = {
    "valid": "[green]signature valid[/]",
    "invalid": "[red]signature INVALID[/] (the manifest was altered or signed by another key)",
    "missing": "[red]manifest is not signed[/] but a public key was given",
    "unverified": "signature present but not checked; pass --public-key to check it",
    "absent": "manifest is not signed",
}


def _print_verdict(result: Verification, console: Console) -> None:
    """The differences table, the signature status and the verdict line on ``console``."""
    rows = (
        [("changed", p) for p in result.changed]
        + [("removed", p) for p in result.removed]
        + [("added", p) for p in result.added]
    )
    if rows:
        table = fitted_table(
            console,
            (Col("status"), Col("path", key=True)),
            [[Text(status), Text(path)] for status, path in rows],
            title="Integrity differences",
        )
        console.print(table)
    console.print(_SIGNATURE_MESSAGES[result.signature])
    verdict = "[green]OK[/]" if result.ok else "[red]FAILED[/]"
    console.print(
        f"{verdict}: {result.checked} files in manifest, {len(result.changed)} changed, "
        f"{len(result.removed)} removed, {len(result.added)} added"
    )


@manifest_app.command(
    "verify",
    epilog=epilog(
        "aisec manifest verify release/ --public-key release.pub.pem --format json -o check.json",
        exit_codes=f"{EXIT_OK} every file matches, {EXIT_FINDINGS} a file was added, removed "
        f"or changed or the signature is bad, {EXIT_USAGE} usage or input error",
    ),
)
@user_errors
def verify(
    directory: Path = typer.Argument(..., help="Folder to check."),
    manifest: Path | None = typer.Option(
        None, "--manifest", "-m", help="Manifest to check (default: DIR/aisec-manifest.json)."
    ),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="Ed25519 public key (PEM); the manifest must be signed by it (default: a "
        "signature is reported but not checked).",
    ),
    output_format: str | None = format_option(
        None, VERIFY_FORMATS, "Output format: table (default; on stderr) or json (on stdout)."
    ),
    output: Path | None = output_option(
        "Write the result to this file instead of stdout (default: stdout for json; the "
        "table always goes to stderr)."
    ),
) -> None:
    """Report files added, removed or changed since the manifest; exit 1 on any difference."""
    from aisec.supplychain.manifest import load_public_key, verify_manifest

    fmt = choose_format(output_format, VERIFY_FORMATS, default="table")
    check_output(output)
    key = load_public_key(public_key) if public_key is not None else None
    result = verify_manifest(directory, manifest, public_key=key)
    if fmt == "json":
        write_output(json.dumps(result.to_dict(), indent=2), output)
    elif not is_stdout(output):
        buffer = io.StringIO()
        _print_verdict(result, Console(file=buffer, width=160, no_color=True))
        write_output(buffer.getvalue(), output)
    _print_verdict(result, err_console)
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FINDINGS)


@manifest_app.command("keygen", epilog=epilog("aisec manifest keygen --output release"))
@user_errors
def keygen(
    out: Path = typer.Option(
        ...,
        "--output",
        "-o",
        "--out",
        help="Key file prefix: writes PREFIX.key.pem and PREFIX.pub.pem (--out is an alias).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing key files."),
) -> None:
    """Create an Ed25519 key pair for signing manifests (private key file mode 0600)."""
    from aisec.supplychain.manifest import generate_keypair

    priv, pub = generate_keypair(out, overwrite=force)
    err_console.print(f"Wrote private key {priv} (keep it secret) and public key {pub}")


def register(app: typer.Typer) -> None:
    """Add the ``manifest`` command group to the main app."""
    app.add_typer(manifest_app, name="manifest")
