"""``aisec harden`` (adversarial or noise training of a model's architecture) and
``aisec certify`` (randomized-smoothing certificates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from aisec.cli.common import EXIT_OK, err_console, threads_option, user_errors
from aisec.cli.output import epilog, write_output
from aisec.errors import AisecError
from aisec.extras import require_torch
from aisec.threads import use_threads

MODEL_HELP = "TorchScript file, safetensors weights (with --factory), or builtin:NAME."


def _hardening_recipe(target: Any, factory: str | None) -> Any:
    """The target's recipe with a module to train, or one built from ``--factory``."""
    from aisec.targets.recipes import TrainingRecipe

    recipe = getattr(target, "recipe", None)
    if recipe is not None and recipe.module is not None and recipe.deploy is not None:
        return recipe
    if factory and hasattr(target, "with_model"):
        from aisec.supplychain.loading import import_factory

        def untrainable(*_: Any) -> Any:
            raise AisecError("this recipe only hardens; it has no training function")

        return TrainingRecipe(
            factory, untrainable, module=import_factory(factory), deploy=target.with_model
        )
    raise AisecError(
        "hardening trains the model's architecture from scratch: give --factory "
        "module:function building it (with safetensors weights), or use a built-in target"
    )


def _factory_reference(recipe: Any, factory: str | None) -> str:
    if factory:
        return factory
    fn = recipe.module
    return f"{fn.__module__}:{fn.__qualname__}"


def export_hardened(hardened: Any, folder: Path, factory: str, spec: Any) -> dict[str, str]:
    """Write ``model.safetensors``, ``model.torchscript.pt`` and ``training.json``; returns the
    files' SHA-256 by name."""
    import torch
    from safetensors.torch import save_file

    from aisec.targets.builtin.cache import sha256_file

    folder.mkdir(parents=True, exist_ok=True)
    module = hardened.module.eval()
    weights = folder / "model.safetensors"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(weights))
    script = folder / "model.torchscript.pt"
    example = torch.zeros(1, *spec.shape)
    with torch.no_grad():
        torch.jit.trace(module, example).save(str(script))
    digests = {p.name: sha256_file(p) for p in (weights, script)}
    record = {
        **hardened.record(),
        "factory": factory,
        "input_shape": list(spec.shape),
        "n_classes": spec.n_classes,
        "bounds": list(spec.bounds),
        "files": digests,
    }
    (folder / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return digests


def register(app: typer.Typer) -> None:
    """Add ``aisec harden`` and ``aisec certify``."""

    @app.command(
        "harden",
        epilog=epilog(
            "aisec harden --model builtin:digits-cnn --data builtin:digits:train --defence pgd-at "
            "--eps 0.1 --test builtin:digits:test --out hardened/",
            "aisec harden --model model.safetensors --factory mypkg.nets:make --data train.npz "
            "--defence trades --eps 0.03 --out hardened/",
        ),
    )
    @user_errors
    def harden_cmd(
        model: str = typer.Option(..., "--model", help=MODEL_HELP),
        data: str = typer.Option(
            ..., "--data", help="Training data: .npz with x and y, .csv, or builtin:NAME."
        ),
        out: Path = typer.Option(..., "--out", help="Folder for the hardened model."),
        defence: str = typer.Option("pgd-at", "--defence", help="pgd-at, trades or noise."),
        eps: float = typer.Option(0.1, "--eps", help="Budget of the training attack."),
        norm: str = typer.Option("linf", "--norm", help="linf or l2."),
        steps: int = typer.Option(10, "--steps", help="Steps of the training attack."),
        sigma: float = typer.Option(0.25, "--sigma", help="Noise of noise training."),
        beta: float = typer.Option(6.0, "--beta", help="TRADES' robustness weight."),
        epochs: int = typer.Option(
            None, "--epochs", help="Training epochs (default: the recipe's)."
        ),
        factory: str = typer.Option(
            None,
            "--factory",
            help="package.module:function building the architecture (default: the built-in's).",
        ),
        test_data: str = typer.Option(
            None,
            "--test",
            help="Held-out data: clean and robust accuracy before and after (default: none).",
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed, 0 to 2**32 - 1."),
        json_out: Path = typer.Option(
            None, "--json", help="Write the training record as JSON here (default: none)."
        ),
        threads: int | None = threads_option(),
    ) -> None:
        """Harden a model by adversarial training (PGD-AT, TRADES) or noise training."""
        require_torch("`aisec harden`")
        use_threads(threads)
        from aisec.cli.evade import check_seed
        from aisec.cli.privacy import _load, _target
        from aisec.defences.hardening import HardeningSettings, harden

        check_seed(seed)
        if epochs is not None and epochs < 1:
            raise AisecError(f"--epochs must be at least 1; got {epochs}")
        settings = HardeningSettings(
            method=defence, eps=eps, norm=norm, steps=steps, sigma=sigma, beta=beta, epochs=epochs
        )
        train = _load(data, "--data")
        test = _load(test_data, "--test") if test_data else None
        target = _target(model, factory, None, train, "aisec harden")
        recipe = _hardening_recipe(target, factory)
        with err_console.status(f"hardening ({settings.label()})"):
            hardened = harden(recipe, train.x, train.y, seed, settings)
        digests = export_hardened(hardened, out, _factory_reference(recipe, factory), target.spec)
        doc: dict[str, Any] = {**hardened.record(), "out": str(out), "files": digests}
        if test is not None:
            with err_console.status("evaluating before and after"):
                doc["evaluation"] = _before_after(target, hardened.target, test, eps, norm, seed)
        if json_out is not None:
            write_output(json.dumps(doc, indent=2), json_out)
        line = f"{settings.label()}: trained in {hardened.seconds:.1f} s, written to {out}"
        if "evaluation" in doc:
            b, a = doc["evaluation"]["undefended"], doc["evaluation"]["hardened"]
            line += (
                f"; clean {b['clean_accuracy']:.1%} -> {a['clean_accuracy']:.1%}, robust at "
                f"{norm} {eps:g} {b['robust_accuracy']:.1%} -> {a['robust_accuracy']:.1%}"
            )
        err_console.print(line)
        raise typer.Exit(EXIT_OK)

    @app.command(
        "certify",
        epilog=epilog(
            "aisec certify --model hardened/model.torchscript.pt --data builtin:digits:test "
            "--sigma 0.25 --json certificates.json",
        ),
    )
    @user_errors
    def certify_cmd(
        model: str = typer.Option(..., "--model", help=MODEL_HELP),
        data: str = typer.Option(
            ..., "--data", help="Labelled data: .npz with x and y, .csv, or builtin:NAME."
        ),
        sigma: float = typer.Option(..., "--sigma", help="Noise standard deviation."),
        n: int = typer.Option(1000, "--n", help="Estimation samples per input."),
        n0: int = typer.Option(100, "--n0", help="Selection samples per input."),
        alpha: float = typer.Option(0.001, "--alpha", help="Failure probability, in (0, 1)."),
        limit: int = typer.Option(100, "--limit", help="Inputs certified (the first ones)."),
        factory: str = typer.Option(
            None,
            "--factory",
            help="package.module:function building the model (default: none; safetensors only).",
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed, 0 to 2**32 - 1."),
        json_out: Path = typer.Option(
            None, "--json", help="Write the certificates as JSON here (default: none)."
        ),
        threads: int | None = threads_option(),
    ) -> None:
        """Randomized-smoothing certificates (Cohen et al.): certified L2 radius per input."""
        require_torch("`aisec certify`")
        use_threads(threads)
        import numpy as np

        from aisec.cli.evade import check_seed
        from aisec.cli.privacy import _load, _target
        from aisec.defences.evasion_evaluation import CURVE_RADII
        from aisec.defences.smoothing import ABSTAIN, certify
        from aisec.targets.views import differentiable

        check_seed(seed)
        if sigma <= 0 or n < 1 or n0 < 1 or limit < 1 or not 0 < alpha < 1:
            raise AisecError(
                "--sigma must be positive, --n, --n0 and --limit at least 1, --alpha in (0, 1)"
            )
        labelled = _load(data, "--data")
        view = differentiable(_target(model, factory, None, labelled, "aisec certify"), "certify")
        x, y = labelled.x[:limit], labelled.y[:limit]
        with err_console.status(f"certifying {len(x)} inputs (sigma {sigma:g}, n {n})"):
            certs = certify(view, x, sigma, n0=n0, n=n, alpha=alpha, seed=seed)
        curve = certs.curve(y, np.array(CURVE_RADII))
        doc = {
            "sigma": sigma,
            "n": n,
            "n0": n0,
            "alpha": alpha,
            "inputs": len(x),
            "abstained": int((certs.labels == ABSTAIN).sum()),
            "certified_accuracy": [{"radius": r, "accuracy": a} for r, a in curve],
            "radii": [float(r) for r in certs.radii],
            "labels": [int(v) for v in certs.labels],
            "correct": [bool(v) for v in certs.labels == y],
        }
        if json_out is not None:
            write_output(json.dumps(doc, indent=2), json_out)
        shown = ", ".join(f"{a:.1%} at {r:g}" for r, a in curve[:5])
        err_console.print(
            f"certified accuracy (L2 radius): {shown}; abstained on {doc['abstained']} of {len(x)}"
        )
        raise typer.Exit(EXIT_OK)


def _before_after(
    before: Any, after: Any, test: Any, eps: float, norm: str, seed: int
) -> dict[str, Any]:
    import torch

    from aisec.attacks.evasion.ensemble import Ensemble
    from aisec.defences.evasion_evaluation import survives

    x, y = torch.as_tensor(test.x[:500]), torch.as_tensor(test.y[:500])
    out = {}
    for name, model in (("undefended", before), ("hardened", after)):
        clean = model.predict_labels(x.numpy()) == y.numpy()
        robust = survives(Ensemble(preset="fast"), model, model, x, y, clean, eps, norm, seed)
        out[name] = {
            "clean_accuracy": float(clean.mean()),
            "robust_accuracy": float(robust.mean()),
            "attack": "ensemble (fast)",
            "n": len(x),
        }
    return out
