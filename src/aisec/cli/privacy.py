"""``aisec membership`` (does the model leak who it was trained on?) and ``aisec extract``
(how cheaply can it be copied?)."""

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


def _target(model: str, factory: str | None, recipe: str | None, data: Any, what: str) -> Any:
    """The target ``--model`` names, scanned first, with ``--recipe`` attached when given."""
    from dataclasses import replace

    from aisec.assessment.resources import build_target
    from aisec.cli.evade import target_config
    from aisec.cli.forensics import _scan_first

    _scan_first(model)
    tc = target_config(model, "builtin:digits", factory=factory)
    if not model.startswith("builtin:"):
        tc = tc.model_copy(
            update={
                "input_shape": [int(s) for s in data.x.shape[1:]],
                "n_classes": int(data.y.max()) + 1 if tc.n_classes is None else tc.n_classes,
            }
        )
    target = build_target(tc)
    if recipe:
        from aisec.targets.recipes import recipe_from_reference

        if not hasattr(target, "with_model"):
            raise AisecError(f"--recipe: only PyTorch targets take a recipe ({what})")
        target = replace(target, recipe=recipe_from_reference(recipe, target))
    return target


def _load(path: str, option: str) -> Any:
    from aisec.data import load_data

    try:
        return load_data(path)
    except FileNotFoundError:
        raise AisecError(f"{option} {path}: no such file") from None


def register(app: typer.Typer) -> None:
    """Add ``aisec membership`` and ``aisec extract``."""

    @app.command(
        "membership",
        epilog=epilog(
            "aisec membership --model builtin:digits-mlp --members builtin:digits:train "
            "--nonmembers builtin:digits:test --attack lira --json mia.json",
            "aisec membership --model model.pt --members in.npz --nonmembers out.npz --attack loss",
        ),
    )
    @user_errors
    def membership(
        model: str = typer.Option(
            ...,
            "--model",
            help="TorchScript file, safetensors weights (with --factory), or builtin:NAME.",
        ),
        members: str = typer.Option(
            ..., "--members", help="Training records: .npz with x and y, .csv, or builtin:NAME."
        ),
        nonmembers: str = typer.Option(
            ..., "--nonmembers", help="Records the model never saw, in the same format."
        ),
        attack: str = typer.Option("lira", "--attack", help="loss, shadow, lira or rmia."),
        recipe: str = typer.Option(
            None,
            "--recipe",
            help="package.module:function training the architecture on (x, y, seed); shadow, "
            "lira and rmia need it (default: the built-in target's own).",
        ),
        factory: str = typer.Option(
            None,
            "--factory",
            help="package.module:function building the model (default: none; safetensors only).",
        ),
        references: int = typer.Option(16, "--references", help="Reference models, 2 to 512."),
        output_mode: str = typer.Option(
            None,
            "--output-mode",
            help="What the deployment reveals: logits, probabilities, top1_probability, "
            "label_only or rounded-K (default: the model's own).",
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed, 0 to 2**32 - 1."),
        json_out: Path = typer.Option(
            None, "--json", help="Write the result as JSON here (default: none)."
        ),
        threads: int | None = threads_option(),
    ) -> None:
        """Membership inference: AUC, balanced accuracy and TPR at 1% and 0.1% FPR."""
        require_torch("`aisec membership`")
        use_threads(threads)
        from aisec.attacks.inference.membership import (
            ATTACKS,
            NEEDS_REFERENCES,
            MembershipInference,
            check_disjoint,
        )
        from aisec.cli.evade import check_seed
        from aisec.data.splits import MEMBERS, NON_MEMBERS, Splits
        from aisec.defences.output_hardening import deploy_mode
        from aisec.report.views import view_for
        from aisec.targets.base import Capability
        from aisec.targets.views import classifier

        check_seed(seed)
        if attack not in ATTACKS:
            raise AisecError(f"--attack must be one of {', '.join(ATTACKS)}; got {attack!r}")
        inside, outside = _load(members, "--members"), _load(nonmembers, "--nonmembers")
        check_disjoint(inside, outside)
        target = _target(model, factory, recipe, inside, "aisec membership")
        if attack in NEEDS_REFERENCES and Capability.TRAINABLE not in target.capabilities:
            raise AisecError(
                f"--attack {attack} trains reference models and needs --recipe "
                "module:function (or a built-in target); use --attack loss without one"
            )
        if output_mode:
            target = deploy_mode(classifier(target, "aisec membership"), output_mode)
        test = MembershipInference(attack=attack, references=references)
        splits = Splits({MEMBERS: inside, NON_MEMBERS: outside}, "membership data")
        with err_console.status(f"membership inference ({attack})"):
            result = test.run(target, splits, seed=seed)
        if not result.ok:
            raise AisecError(result.message or "membership inference did not run")
        doc = view_for(result).cli_json(result)
        if json_out is not None:
            write_output(json.dumps(doc, indent=2), json_out)
        o = result.outcome
        err_console.print(
            f"{attack}: AUC {doc['auc']:.3f}, balanced accuracy {doc['balanced_accuracy']:.3f}, "
            f"TPR {doc['tpr_at_1pct_fpr']:.1%} at 1% FPR and {doc['tpr_at_01pct_fpr']:.1%} at "
            f"0.1% FPR ({getattr(o, 'n_members', 0)} members, "
            f"{getattr(o, 'n_reference', 0)} reference models)"
        )
        raise typer.Exit(EXIT_OK)

    @app.command(
        "extract",
        epilog=epilog(
            "aisec extract --model builtin:digits-cnn --data builtin:digits:train --budget 1000 "
            "--test builtin:digits:test --json extract.json",
        ),
    )
    @user_errors
    def extract(
        model: str = typer.Option(
            ...,
            "--model",
            help="TorchScript file, safetensors weights (with --factory), or builtin:NAME.",
        ),
        data: str = typer.Option(
            ..., "--data", help="The attacker's query pool: .npz with x and y, .csv, builtin:NAME."
        ),
        budget: int = typer.Option(..., "--budget", help="Most queries sent to the model."),
        test_data: str = typer.Option(
            None,
            "--test",
            help="Held-out labelled data for fidelity and accuracy (default: half of --data).",
        ),
        strategy: str = typer.Option("data", "--strategy", help="random, data or adaptive."),
        factory: str = typer.Option(
            None,
            "--factory",
            help="package.module:function building the model (default: none; safetensors only).",
        ),
        output_mode: str = typer.Option(
            None,
            "--output-mode",
            help="What each answer reveals (default: the model's own output mode).",
        ),
        seed: int = typer.Option(0, "--seed", help="Random seed, 0 to 2**32 - 1."),
        json_out: Path = typer.Option(
            None, "--json", help="Write the result as JSON here (default: none)."
        ),
        threads: int | None = threads_option(),
    ) -> None:
        """Model extraction under a query budget: fidelity and accuracy of the substitute."""
        require_torch("`aisec extract`")
        use_threads(threads)
        from aisec.attacks.extraction.knockoff import STRATEGIES, Knockoff
        from aisec.cli.evade import check_seed
        from aisec.data.splits import REFERENCE, TEST, Splits
        from aisec.defences.output_hardening import deploy_mode
        from aisec.report.views import view_for
        from aisec.targets.views import classifier

        check_seed(seed)
        if budget < 1:
            raise AisecError(f"--budget must be at least 1 query; got {budget}")
        if strategy not in STRATEGIES:
            raise AisecError(f"--strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
        pool = _load(data, "--data")
        target = _target(model, factory, None, pool, "aisec extract")
        if output_mode:
            target = deploy_mode(classifier(target, "aisec extract"), output_mode)
        parts = (
            {TEST: pool}
            if test_data is None
            else {
                REFERENCE: pool,
                TEST: _load(test_data, "--test"),
            }
        )
        test = Knockoff(budget=budget, strategy=strategy)
        with err_console.status(f"model extraction ({strategy}, {budget} queries)"):
            result = test.run(target, Splits(parts, "extraction data"), seed=seed)
        if not result.ok:
            raise AisecError(result.message or "model extraction did not run")
        doc = view_for(result).cli_json(result)
        if json_out is not None:
            write_output(json.dumps(doc, indent=2), json_out)
        err_console.print(
            f"{strategy}: {doc['queries']} queries, fidelity {doc['fidelity']:.1%}, substitute "
            f"accuracy {doc['accuracy']:.1%} (target {doc['target_accuracy']:.1%})"
        )
        raise typer.Exit(EXIT_OK)
