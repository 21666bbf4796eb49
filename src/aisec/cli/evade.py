"""``aisec evade``: one evasion attack on a model file and a data file, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from aisec.cli.common import err_console, user_errors
from aisec.errors import AisecError, ParameterError
from aisec.extras import require_torch

ATTACKS = (
    "fgsm",
    "pgd",
    "apgd-ce",
    "apgd-dlr",
    "apgd-t",
    "cw",
    "deepfool",
    "fab",
    "square",
    "hsj",
    "ensemble",
    "patch",
    "corruptions",
)


def parse_eps(values: list[str] | None) -> list[float]:
    """``--eps 0.1 --eps 0.2`` or ``--eps 0.1,0.2``; fractions like ``8/255`` are accepted."""
    out: list[float] = []
    for v in values or []:
        for part in str(v).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                if "/" in part:
                    num, den = part.split("/", 1)
                    out.append(float(num) / float(den))
                else:
                    out.append(float(part))
            except (ValueError, ZeroDivisionError):
                raise ParameterError(
                    "--eps", [f"not a number: {part!r} (use e.g. 0.03 or 8/255)"]
                ) from None
    return out


def load_target(
    model: str,
    factory: str | None,
    data_shape: tuple[int, ...],
    bounds: tuple[float, float],
    n_classes: int | None,
):
    """A target from ``builtin:NAME``, a TorchScript file, or safetensors weights plus ``--factory``."""
    from aisec.targets.builtin import load_builtin_target
    from aisec.targets.torch import TorchClassifier

    if model.startswith("builtin:"):
        return load_builtin_target(model.removeprefix("builtin:"))
    if factory:
        return TorchClassifier.from_factory(
            factory, model, input_shape=data_shape, bounds=bounds, n_classes=n_classes
        )
    if model.endswith(".safetensors"):
        raise AisecError(f"{model} holds weights only; also pass --factory package.module:function")
    return TorchClassifier.from_torchscript(
        model, input_shape=data_shape, bounds=bounds, n_classes=n_classes
    )


def build_params(cls: type, eps: list[float], options: dict[str, Any]) -> dict[str, Any]:
    """Map CLI options to the attack's parameters; options it does not take are an error."""
    params: dict[str, Any] = {}
    accepted = set(cls.constraints)
    if eps:
        if "eps" not in accepted:
            raise ParameterError(cls.id, ["--eps does not apply to this attack"])
        params["eps"] = max(eps)
        if len(eps) > 1:
            params["curve"] = sorted(set(eps))
    for name, value in options.items():
        if value is None:
            continue
        if name not in accepted:
            raise ParameterError(
                cls.id, [f"--{name.replace('_', '-')} does not apply to this attack"]
            )
        params[name] = value
    return params


def summary_json(result: Any, seconds: float) -> dict[str, Any]:
    """The JSON document of the evade interface."""
    m = dict(result.metrics)
    out: dict[str, Any] = {
        "attack": result.test_id,
        "status": result.status.value,
        "message": result.message,
        "params": result.params,
        "seconds": seconds,
    }
    for key in (
        "n",
        "clean_accuracy",
        "robust_accuracy",
        "attack_success_rate",
        "mean_linf",
        "mean_l2",
        "median_l2",
    ):
        out[key] = m.get(key)
    q = m.get("queries")
    if isinstance(q, dict):
        out["queries"] = q.get("mean")
        out["queries_detail"] = q
    if "curve" in m and len(m["curve"]) > 1:
        out["curve"] = m["curve"]
    if "stages" in m:
        out["stages"] = m["stages"]
    out["metrics"] = m
    return out


def register(app: typer.Typer) -> None:
    """Add ``aisec evade``."""

    @app.command("evade")
    @user_errors
    def evade(
        model: str = typer.Option(
            ...,
            "--model",
            help="TorchScript file, safetensors weights (with --factory), or builtin:NAME.",
        ),
        data: str = typer.Option(
            ..., "--data", help=".npz with arrays x and y (or .csv, or builtin:NAME[:SPLIT])."
        ),
        attack: str = typer.Option("pgd", "--attack", help=f"One of: {', '.join(ATTACKS)}."),
        eps: list[str] = typer.Option(
            None, "--eps", help="Budget; several (or comma-separated) give a curve."
        ),
        norm: str = typer.Option(None, "--norm", help="linf, l2 or l1."),
        steps: int = typer.Option(None, "--steps", help="Iterations."),
        restarts: int = typer.Option(None, "--restarts", help="Random restarts."),
        queries: int = typer.Option(None, "--queries", help="Query budget (black-box attacks)."),
        targeted: bool = typer.Option(
            None, "--targeted/--untargeted", help="Targeted attack (random target classes)."
        ),
        preset: str = typer.Option(None, "--preset", help="Ensemble preset (standard, fast, ...)."),
        seed: int = typer.Option(0, "--seed", help="Random seed."),
        factory: str = typer.Option(
            None,
            "--factory",
            help="package.module:function building the model for safetensors weights.",
        ),
        bounds: str = typer.Option("0,1", "--bounds", help="Valid input range, 'low,high'."),
        n_classes: int = typer.Option(
            None, "--n-classes", help="Number of classes (default: inferred)."
        ),
        limit: int = typer.Option(None, "--limit", help="Attack a seeded subset of this size."),
        json_out: Path = typer.Option(
            None, "--json", help="Write the result as JSON here ('-' for stdout)."
        ),
    ) -> None:
        """Run one evasion attack and print robust accuracy, success rate and perturbation sizes."""
        import time

        require_torch("`aisec evade`")

        from aisec.data import load_data
        from aisec.registry import get_test

        if attack not in ATTACKS:
            raise AisecError(f"unknown attack {attack!r}; choose one of {', '.join(ATTACKS)}")
        try:
            lo, hi = (float(b) for b in bounds.split(","))
        except ValueError:
            raise AisecError(f"--bounds must look like '0,1'; got {bounds!r}") from None
        dataset = load_data(data)
        if limit:
            dataset = dataset.subset(limit, seed=seed)
        target = load_target(model, factory, tuple(dataset.x.shape[1:]), (lo, hi), n_classes)
        cls = get_test(f"evasion.{attack}")
        options = {
            "norm": norm,
            "steps": steps,
            "restarts": restarts,
            "queries": queries,
            "targeted": targeted,
            "preset": preset,
        }
        params = build_params(cls, parse_eps(eps), options)
        start = time.perf_counter()
        result = cls(**params).run(target, dataset, seed=seed)
        doc = summary_json(result, time.perf_counter() - start)
        text = json.dumps(doc, indent=2, default=float)
        if json_out is not None:
            if str(json_out) == "-":
                typer.echo(text)
            else:
                json_out.parent.mkdir(parents=True, exist_ok=True)
                json_out.write_text(text + "\n")
        _print(doc)


def _print(doc: dict[str, Any]) -> None:
    def f(v: Any) -> str:
        return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))

    err_console.print(
        f"[bold]{doc['attack']}[/] n={doc['n']} clean={f(doc['clean_accuracy'])} "
        f"robust={f(doc['robust_accuracy'])} success={f(doc['attack_success_rate'])} "
        f"mean_linf={f(doc['mean_linf'])} mean_l2={f(doc['mean_l2'])} ({doc['seconds']:.2f}s)"
    )
    for point in doc.get("curve", []):
        err_console.print(f"  eps={point['eps']:g}: robust accuracy {point['robust_accuracy']:.4f}")
    for stage in doc.get("stages", []):
        err_console.print(
            f"  stage {stage.get('attack')}: robust accuracy {f(stage.get('robust_accuracy'))}"
        )
    if doc["status"] != "ok":
        err_console.print(f"[yellow]{doc['status']}:[/] {doc['message']}")
