"""``aisec backdoor-scan`` (is this model backdoored?) and ``aisec data-check`` (is this
training set sound?)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from aisec.cli.common import EXIT_FINDINGS, EXIT_OK, err_console, threads_option, user_errors
from aisec.cli.output import epilog, write_output
from aisec.errors import AisecError
from aisec.extras import require_torch
from aisec.threads import use_threads

if TYPE_CHECKING:
    from aisec.records.poisoning import BackdoorScanOutcome


def _scan_first(model: str) -> None:
    """Statically scan a model file before anything loads it; refuse it when it is hostile."""
    if model.startswith("builtin:"):
        return
    from aisec.records import Severity
    from aisec.supplychain.scan import scan_paths

    path = Path(model)
    if not path.is_file():
        raise AisecError(f"--model {model}: no such file")
    report = scan_paths([str(path)])
    worst = report.max_severity
    if worst is not None and worst.rank >= Severity.HIGH.rank:
        top = max(report.findings, key=lambda f: f.severity.rank)
        raise AisecError(
            f"{model} failed the static scan ({top.severity.value}: {top.title}); it was not "
            "loaded: export the model as TorchScript or safetensors from a trusted source"
        )


def _save_trigger(o: BackdoorScanOutcome, artifacts: dict[str, Any], out: Path) -> str:
    """The recovered trigger of the most suspect class as a PNG (mask and pattern beside it)."""
    import numpy as np
    from matplotlib.image import imsave

    from aisec.report.plots import to_hwc

    mask = np.asarray(artifacts["trigger_mask"], np.float64)
    pattern = np.asarray(artifacts["trigger_pattern"], np.float64)
    lo, hi = float(min(pattern.min(), 0.0)), float(max(pattern.max(), 1.0))
    stamped = to_hwc((1 - mask) * (lo + hi) / 2 + mask * pattern)
    m = to_hwc(mask)
    if stamped is None or m is None:
        raise AisecError("the model's inputs are not images; no trigger image was written")
    scale = max(1, 128 // max(1, min(stamped.shape[:2])))
    grey = (stamped - lo) / (hi - lo)
    if grey.ndim == 2:
        grey = np.repeat(grey[..., None], 3, axis=-1)
    mask_rgb = np.repeat(np.clip(m, 0, 1)[..., None], 3, axis=-1)
    gap = np.ones((grey.shape[0], 1, 3))
    img = np.concatenate([grey, gap, mask_rgb], axis=1)
    img = np.kron(img, np.ones((scale, scale, 1)))
    out.parent.mkdir(parents=True, exist_ok=True)
    imsave(str(out), np.clip(img, 0, 1))
    return str(out)


def register(app: typer.Typer) -> None:
    """Add ``aisec backdoor-scan`` and ``aisec data-check``."""

    @app.command(
        "backdoor-scan",
        epilog=epilog(
            "aisec backdoor-scan --model builtin:digits-cnn-backdoor --data builtin:digits:test "
            "--json scan.json",
            "aisec backdoor-scan --model model.pt --data clean.npz --trigger trigger.png",
        ),
    )
    @user_errors
    def backdoor_scan(
        model: str = typer.Option(
            ...,
            "--model",
            help="TorchScript file, safetensors weights (with --factory), or builtin:NAME.",
        ),
        data: str = typer.Option(
            ..., "--data", help="Clean labelled data: .npz with x and y, .csv, or builtin:NAME."
        ),
        factory: str = typer.Option(
            None,
            "--factory",
            help="package.module:function building the model (default: none; safetensors only).",
        ),
        steps: int = typer.Option(400, "--steps", help="Trigger-search steps, at least 10."),
        limit: int = typer.Option(
            None, "--limit", help="Use a seeded subset of this size (default: all the data)."
        ),
        bounds: str = typer.Option("0,1", "--bounds", help="Valid input range, 'low,high'."),
        seed: int = typer.Option(0, "--seed", help="Random seed, 0 to 2**32 - 1."),
        trigger: Path = typer.Option(
            None,
            "--trigger",
            help="Where to save the recovered trigger image (default: beside --json, else none).",
        ),
        json_out: Path = typer.Option(
            None, "--json", help="Write the result as JSON here (default: none)."
        ),
        threads: int | None = threads_option(),
    ) -> None:
        """Search every class for a minimal trigger; exit 1 when the model looks backdoored."""
        require_torch("`aisec backdoor-scan`")
        use_threads(threads)
        from aisec.cli.evade import check_seed, load_target_and_data, parse_bounds, target_config
        from aisec.forensics.backdoor_scan import ScanSettings, scan_model
        from aisec.targets.views import differentiable

        check_seed(seed)
        if steps < 10:
            raise AisecError(f"--steps must be at least 10; got {steps}")
        _scan_first(model)
        tc = target_config(model, data, factory=factory, bounds=parse_bounds(bounds), limit=limit)
        target, clean = load_target_and_data(
            tc, seed, shape_from_data=not model.startswith("builtin:")
        )
        view = differentiable(target, "aisec backdoor-scan")
        view.spec.check(clean.x, clean.y, what=f"data {data!r}")
        with err_console.status("backdoor scan"):
            outcome, artifacts = scan_model(view, clean, ScanSettings(steps=steps), seed=seed)
        picture = trigger or (
            json_out.with_suffix(".trigger.png") if json_out and str(json_out) != "-" else None
        )
        path = _save_trigger(outcome, artifacts, picture) if picture else None
        doc = {
            "backdoored": outcome.backdoored,
            "target_class": outcome.target_class,
            "anomaly_index": outcome.anomaly_index,
            "trigger_image": path,
            **outcome.to_dict(),
        }
        if json_out is not None:
            write_output(json.dumps(doc, indent=2), json_out)
        verdict = (
            f"[bold red]backdoored[/]: class {outcome.target_class}"
            if outcome.backdoored
            else "[bold green]no backdoor found[/]"
        )
        strip = outcome.strip
        err_console.print(
            f"{verdict} (anomaly index {outcome.anomaly_index:.2f}, threshold "
            f"{outcome.threshold:g}; n={outcome.n})"
            + (f"; STRIP false-positive rate {strip.false_positive_rate:.3f}" if strip else "")
            + (f"; trigger image {path}" if path else "")
        )
        raise typer.Exit(EXIT_FINDINGS if outcome.backdoored else EXIT_OK)

    @app.command(
        "data-check",
        epilog=epilog(
            "aisec data-check --data third-party.npz --reference trusted.npz --json check.json"
        ),
    )
    @user_errors
    def data_check(
        data: str = typer.Option(
            ..., "--data", help="Training data to check: .npz with x and y, .csv, builtin:NAME."
        ),
        reference: str = typer.Option(
            None,
            "--reference",
            help="Trusted data of the same task, for the class balance (default: none).",
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed, 0 to 2**32 - 1."),
        fail_on: str = typer.Option(
            "high", "--fail-on", help="Exit 1 at findings of this severity or worse."
        ),
        json_out: Path = typer.Option(
            None, "--json", help="Write the result as JSON here (default: none)."
        ),
    ) -> None:
        """Look for duplicates, wrong labels and a class-balance shift before training."""
        from aisec.data import load_data
        from aisec.data.builtin import load_builtin
        from aisec.defences.integrity import check_dataset
        from aisec.findings import Subject
        from aisec.records import Result, Severity, Status
        from aisec.supplychain.data_check import DataCheck

        def load(ref: str) -> Any:
            if ref.startswith("builtin:"):
                return load_builtin(ref.removeprefix("builtin:"))
            return load_data(ref)

        try:
            threshold = Severity(fail_on.lower())
        except ValueError:
            allowed = ", ".join(s.value for s in Severity)
            raise AisecError(f"--fail-on must be one of {allowed}; got {fail_on!r}") from None
        outcome = check_dataset(load(data), load(reference) if reference else None, seed=seed)
        result = Result(DataCheck.id, data, Status.OK, outcome=outcome)
        subject = Subject(DataCheck.name, DataCheck.id, data)
        findings = [f for r in DataCheck.rules for f in r.apply(outcome, result, subject, ())]
        doc = {**outcome.to_dict(), "findings": [f.to_dict() for f in findings]}
        if json_out is not None:
            write_output(json.dumps(doc, indent=2), json_out)
        for f in sorted(findings, key=lambda f: -f.severity.rank):
            err_console.print(f"[bold]{f.severity.value}[/] {f.title}")
        failed = any(f.severity.rank >= threshold.rank for f in findings)
        raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)
