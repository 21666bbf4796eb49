"""``aisec evade``: one evasion attack on a model file and a data file, as JSON or a summary.

The attacks are the registered tests of the ``evasion`` family (``aisec list``); the model and
data are built from a :class:`~aisec.assessment.config.TargetConfig` by the same builders an
assessment uses (:mod:`aisec.assessment.resources`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from aisec import progress
from aisec.cli.common import err_console, out_console, threads_option, user_errors
from aisec.cli.output import (
    choose_format,
    epilog,
    format_option,
    is_stdout,
    output_option,
    write_output,
)
from aisec.errors import AisecError, ParameterError
from aisec.extras import require_torch
from aisec.threads import use_threads

if TYPE_CHECKING:
    from aisec.assessment.config import TargetConfig
    from aisec.base import SecurityTest
    from aisec.data import Dataset
    from aisec.targets.base import Target

FAMILY = "evasion"
"""Registry family whose tests ``aisec evade`` runs."""
FORMATS = ("table", "json")
"""Output formats of ``aisec evade``."""
ATTACK_DEFAULT = "the attack's own, as `aisec list` shows"
"""What an attack option left out means, in ``--help``."""
ATTACK_HELP = (
    "Attack: a registered evasion test, by id (evasion.pgd) or short name (pgd); "
    "`aisec list` describes them."
)
EPS_HELP = (
    "Budget, >= 0 (e.g. 0.03 or 8/255); several (or comma-separated{most}) give a curve "
    f"(default: {ATTACK_DEFAULT})."
)
"""Help of ``--eps``; ``{most}`` becomes the most budgets a run takes when help is shown."""


def eps_help() -> str:
    """The help of ``--eps``, naming :data:`~aisec.records.evasion.MAX_CURVE_POINTS`."""
    from aisec.records.evasion import MAX_CURVE_POINTS

    return EPS_HELP.format(most=f", at most {MAX_CURVE_POINTS}")


PROVISIONAL_SHAPE: list[int] = [1]
"""Input shape a file model's config holds until :func:`load_target_and_data` reads the data."""

#: TargetConfig fields -> the evade options that set them, for error messages
_OPTION_OF_FIELD = {
    "bounds": "--bounds",
    "n_classes": "--n-classes",
    "limit": "--limit",
    "factory": "--factory",
    "weights": "--model",
    "torchscript": "--model",
    "builtin": "--model",
    "data": "--data",
}


def evasion_attacks() -> dict[str, type[SecurityTest]]:
    """The registered tests of the evasion family, by short name (``pgd`` for ``evasion.pgd``)."""
    from aisec.registry import available_tests

    prefix = f"{FAMILY}."
    return {
        k.removeprefix(prefix): cls
        for k, cls in available_tests().items()
        if cls.family == FAMILY and k not in NOT_ATTACKS
    }


NOT_ATTACKS = {
    "evasion.sanity": (
        "evasion.sanity checks an evaluation for gradient masking rather than attacking; "
        "`aisec assess` adds it to every gradient attack (sanity_checks: true)"
    ),
}
"""Tests of the evasion family that are not attacks, so `aisec evade` does not offer them."""


def resolve_attack(name: str) -> type[SecurityTest]:
    """The evasion test named ``name`` (``pgd`` or ``evasion.pgd``), else an error listing them."""
    attacks = evasion_attacks()
    short = name.strip().lower().removeprefix(f"{FAMILY}.")
    if f"{FAMILY}.{short}" in NOT_ATTACKS:
        raise AisecError(NOT_ATTACKS[f"{FAMILY}.{short}"])
    if short not in attacks:
        raise AisecError(
            f"unknown attack {name!r}; choose one of {', '.join(attacks)} "
            f"(or its registered id, e.g. {FAMILY}.pgd)"
        )
    return attacks[short]


class _EvadeCommand(typer.core.TyperCommand):
    """Lists the registered attacks in ``--help`` only when help is shown.

    Loading the registry imports the attacks (and PyTorch), so it is not done when the
    ``aisec`` app is built, only when ``aisec evade --help`` is printed; likewise the most
    budgets ``--eps`` takes come from the evasion records only then.
    """

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Fill in the ``--attack`` choices and the ``--eps`` limit, then format as usual."""
        for param in self.params:
            if param.name == "attack":
                param.help = f"{ATTACK_HELP} One of: {', '.join(evasion_attacks())}."
            elif param.name == "eps":
                param.help = eps_help()
        super().format_help(ctx, formatter)


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


def parse_bounds(bounds: str) -> tuple[float, float]:
    """``--bounds 'low,high'`` as two floats."""
    try:
        lo, hi = (float(b) for b in bounds.split(","))
    except ValueError:
        raise AisecError(f"--bounds must look like '0,1'; got {bounds!r}") from None
    return lo, hi


def target_config(
    model: str,
    data: str,
    *,
    factory: str | None = None,
    bounds: tuple[float, float] = (0.0, 1.0),
    n_classes: int | None = None,
    limit: int | None = None,
    input_shape: list[int] | None = None,
) -> TargetConfig:
    """The assessment's :class:`TargetConfig` for ``--model``, ``--data`` and their options.

    ``builtin:NAME`` names a built-in target; a ``.safetensors`` file needs ``factory``; any
    other file is TorchScript. A file model without ``input_shape`` gets
    :data:`PROVISIONAL_SHAPE`; ``load_target_and_data(..., shape_from_data=True)`` replaces it
    by the data's shape.

    Raises:
        AisecError: The options do not describe a valid target, in one line naming the option.
    """
    from pydantic import ValidationError

    from aisec.assessment.config import TargetConfig

    fields: dict[str, Any] = {
        "data": data,
        "limit": limit,
        "bounds": bounds,
        "n_classes": n_classes,
    }
    if model.startswith("builtin:"):
        name = model.removeprefix("builtin:")
        fields |= {"name": name, "builtin": name}
    else:
        shape = input_shape or PROVISIONAL_SHAPE
        fields |= {"name": Path(model).stem, "input_shape": shape}
        if factory:
            fields |= {"factory": factory, "weights": model}
        elif model.endswith(".safetensors"):
            raise AisecError(
                f"{model} holds weights only; also pass --factory package.module:function"
            )
        else:
            fields["torchscript"] = model
    try:
        return TargetConfig(**fields)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            where = _OPTION_OF_FIELD.get(field, field)
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {msg}" if where else msg)
        raise AisecError("; ".join(problems)) from None


def load_target_and_data(
    tc: TargetConfig, seed: int, *, shape_from_data: bool = False
) -> tuple[Target, Dataset]:
    """The target and the (seeded subset of the) data ``tc`` names, via the assessment builders.

    With ``shape_from_data``, the target is built with the shape of one sample of the data
    instead of ``tc.input_shape``.
    """
    from aisec.assessment.resources import build_data, build_target

    dataset = build_data(tc, seed)
    if shape_from_data:
        tc = tc.model_copy(update={"input_shape": [int(s) for s in dataset.x.shape[1:]]})
    return build_target(tc), dataset


def check_seed(seed: int) -> None:
    """Raise a one-line :class:`AisecError` naming ``--seed`` when it is out of range."""
    from aisec.targets.config import seed_problem

    problem = seed_problem(seed)
    if problem:
        raise AisecError(f"--seed {problem}")


def build_params(cls: type, eps: list[float], options: dict[str, Any]) -> dict[str, Any]:
    """Map CLI options to the attack's parameters; options it does not take are an error.

    Several ``eps`` values become ``curve`` (duplicates collapse), at most
    :data:`~aisec.records.evasion.MAX_CURVE_POINTS` distinct ones.
    """
    from aisec.records.evasion import MAX_CURVE_POINTS

    params: dict[str, Any] = {}
    accepted = set(cls.constraints)
    if eps:
        if "eps" not in accepted:
            raise ParameterError(cls.id, ["--eps does not apply to this attack"])
        if len(set(eps)) > MAX_CURVE_POINTS:
            raise AisecError(
                f"--eps has {len(set(eps))} values; at most {MAX_CURVE_POINTS} budgets per run: "
                "thin the list"
            )
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
    """The JSON document of the evade interface: identity, then the outcome view's fields."""
    from aisec.report.views import view_for

    return {
        "attack": result.test_id,
        "status": result.status.value,
        "message": result.message,
        "params": result.params,
        "seconds": seconds,
        **view_for(result).cli_json(result),
        "findings": [f.to_dict() for f in result.findings],
    }


def register(app: typer.Typer) -> None:
    """Add ``aisec evade``."""

    @app.command(
        "evade",
        cls=_EvadeCommand,
        epilog=epilog(
            "aisec evade --model builtin:digits-cnn --data builtin:digits:test --attack pgd "
            "--eps 0.1 --limit 100 --format json --output pgd.json",
            "aisec evade --model model.pt --data test.npz --attack fgsm --eps 0.05,0.1,0.2",
        ),
    )
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
        attack: str = typer.Option("pgd", "--attack", help=ATTACK_HELP),
        eps: list[str] = typer.Option(
            None,
            "--eps",
            help=EPS_HELP.format(most=""),
        ),
        norm: str = typer.Option(
            None, "--norm", help=f"linf, l2 or l1 (default: {ATTACK_DEFAULT})."
        ),
        steps: int = typer.Option(
            None,
            "--steps",
            help=f"Iterations, at least 1 (the attack sets the maximum; default: {ATTACK_DEFAULT}).",
        ),
        restarts: int = typer.Option(
            None, "--restarts", help=f"Random restarts, 1 to 1000 (default: {ATTACK_DEFAULT})."
        ),
        queries: int = typer.Option(
            None,
            "--queries",
            help=f"Query budget per point, 1 to 10000000 (black-box; default: {ATTACK_DEFAULT}).",
        ),
        targeted: bool = typer.Option(
            None,
            "--targeted/--untargeted",
            help=f"Targeted attack (random target classes; default: {ATTACK_DEFAULT}).",
        ),
        preset: str = typer.Option(
            None,
            "--preset",
            help=f"Ensemble preset (standard, fast, ...; default: {ATTACK_DEFAULT}).",
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed, 0 to 2**32 - 1."),
        factory: str = typer.Option(
            None,
            "--factory",
            help="package.module:function building the model for safetensors weights "
            "(default: none; needed only with safetensors weights).",
        ),
        bounds: str = typer.Option(
            "0,1", "--bounds", help="Valid input range, 'low,high' (finite, low < high)."
        ),
        n_classes: int = typer.Option(
            None, "--n-classes", help="Number of classes, at least 2 (default: inferred)."
        ),
        limit: int = typer.Option(
            None,
            "--limit",
            help="Attack a seeded subset of this size (at least 1; default: all the data).",
        ),
        fmt: str | None = format_option(
            None,
            FORMATS,
            "Output format: table (default; the summary, on stderr) or json (on stdout).",
        ),
        output: Path | None = output_option(
            "Write the result to this file instead of stdout ('-' for stdout, the default)."
        ),
        json_out: Path = typer.Option(
            None,
            "--json",
            help="Alias of --format json --output PATH: write the result as JSON here "
            "('-' for stdout).",
        ),
        threads: int | None = threads_option(),
    ) -> None:
        """Run one evasion attack and print robust accuracy, success rate and perturbation sizes."""
        import time

        require_torch("`aisec evade`")
        use_threads(threads)

        fmt, output = _json_alias(fmt, output, json_out)
        fmt = choose_format(fmt, FORMATS, default="table")
        cls = resolve_attack(attack)
        check_seed(seed)
        tc = target_config(
            model,
            data,
            factory=factory,
            bounds=parse_bounds(bounds),
            n_classes=n_classes,
            limit=limit,
        )
        options = {
            "norm": norm,
            "steps": steps,
            "restarts": restarts,
            "queries": queries,
            "targeted": targeted,
            "preset": preset,
        }
        test = cls(**build_params(cls, parse_eps(eps), options))
        if not is_stdout(output):
            assert output is not None
            output.parent.mkdir(parents=True, exist_ok=True)
        shape_from_data = not model.startswith("builtin:")
        target, dataset = load_target_and_data(tc, seed, shape_from_data=shape_from_data)
        start = time.perf_counter()
        result = _run_with_status(test, target, dataset, seed)
        doc = summary_json(result, time.perf_counter() - start)
        if fmt == "json":
            write_output(json.dumps(doc, indent=2, default=float), output)
        elif output is not None and is_stdout(output):
            _print(doc, out_console)
        elif output is not None:
            buffer = io.StringIO()
            _print(doc, Console(file=buffer, width=160, no_color=True))
            write_output(buffer.getvalue(), output)
        _print(doc, err_console)


def _run_with_status(test: SecurityTest, target: Any, dataset: Any, seed: int) -> Any:
    """Run the attack, showing where it is on stderr when stderr is a terminal."""
    if not err_console.is_terminal:
        return test.run(target, dataset, seed=seed)
    with err_console.status(f"{test.id} on {target.name}") as status:

        def show(text: str) -> None:
            status.update(f"{test.id} on {target.name} · {text}")

        with progress.listening(show):
            return test.run(target, dataset, seed=seed)


def _json_alias(
    fmt: str | None, output: Path | None, json_out: Path | None
) -> tuple[str | None, Path | None]:
    """Resolve ``--json PATH``, an alias of ``--format json --output PATH``."""
    if json_out is None:
        return fmt, output
    if fmt is not None and fmt.strip().lower() != "json":
        raise AisecError(f"--json means --format json; drop --json or --format {fmt}")
    if output is not None and output != json_out:
        raise AisecError("--json PATH means --output PATH; give only one of them")
    return "json", json_out


def _print(doc: dict[str, Any], console: Console) -> None:
    """The one-line summary of a result (with its curve and stages) on ``console``."""

    def f(v: Any) -> str:
        return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))

    console.print(
        f"[bold]{doc['attack']}[/] n={doc['n']} clean={f(doc['clean_accuracy'])} "
        f"robust={f(doc['robust_accuracy'])} success={f(doc['attack_success_rate'])} "
        f"mean_linf={f(doc['mean_linf'])} mean_l2={f(doc['mean_l2'])} ({doc['seconds']:.2f}s)"
    )
    for point in doc.get("curve", []):
        console.print(f"  eps={point['eps']:g}: robust accuracy {point['robust_accuracy']:.4f}")
    for stage in doc.get("stages", []):
        console.print(
            f"  stage {stage.get('attack')}: robust accuracy {f(stage.get('robust_accuracy'))}"
        )
    for finding in doc.get("findings", []):
        if finding["rule"] == "EVA-002" and finding["severity"] in ("medium", "high", "critical"):
            console.print(f"[bold yellow]warning:[/] {finding['title']}")
            console.print(f"  {finding['recommendation']}")
    if doc["status"] != "ok":
        console.print(f"[yellow]{doc['status']}:[/] {doc['message']}")
