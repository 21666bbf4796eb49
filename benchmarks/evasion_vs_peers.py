"""PGD and APGD with aisec, torchattacks and ART on the same model, data and settings.

Prints robust accuracy and wall time per tool, the aisec/peer ratios, and the cost of the bare
forward+backward passes the attack needs (``steps x n`` forward+backward on the attacked
points) with aisec's ratio to it. Timings use one thread (``torch.set_num_threads(1)``) and the
best of ``--repeat`` round-robin runs, so they are stable on a shared machine.

Run (peers in their own environment, see docs/benchmarks.md):

    python benchmarks/evasion_vs_peers.py  # digits-cnn at eps 0.1, signs-cnn at eps 0.03

Robust accuracy is counted the same way for every tool: a point is robust when it is
classified correctly both clean and after the attack. ART's PGD is given the true labels
(otherwise it attacks its own predictions).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Row:
    """One measured (tool, attack) pair."""

    model: str
    attack: str
    tool: str
    robust_accuracy: float
    seconds: float


def robust(model: torch.nn.Module, x_adv: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of points classified correctly both clean and adversarially."""
    with torch.no_grad():
        clean = model(torch.as_tensor(x)).argmax(1).numpy() == y
        adv = model(torch.as_tensor(x_adv, dtype=torch.float32)).argmax(1).numpy() == y
    return float(np.mean(clean & adv))


def bare_passes(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` forward+backward passes (input gradient) over ``x`` in one batch."""
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    for _ in range(steps):
        xa = xt.clone().requires_grad_(True)
        loss = F.cross_entropy(model(xa), yt)
        torch.autograd.grad(loss, xa)
    return np.zeros(0)


def main() -> None:
    """Parse options, run every tool and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--models", default="digits-cnn,signs-cnn", help="comma-separated built-in targets"
    )
    ap.add_argument(
        "--eps",
        default="0.1,0.03",
        help="L-inf budget per model, comma-separated (inputs in [0, 1])",
    )
    ap.add_argument("--steps", type=int, default=40, help="PGD steps (APGD uses 100)")
    ap.add_argument("--apgd-steps", type=int, default=100)
    ap.add_argument("--n", type=int, default=200, help="points attacked (seeded subset)")
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats (best is kept)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    from aisec.attacks.evasion.apgd import APGDCE
    from aisec.attacks.evasion.pgd import PGD
    from aisec.data import load_builtin
    from aisec.targets import load_builtin_target
    from aisec.targets.builtin import builtin_entry

    rows: list[Row] = []
    bare: dict[tuple[str, str], tuple[float, float]] = {}
    names = args.models.split(",")
    budgets = [float(e) for e in args.eps.split(",")]
    budgets += [budgets[-1]] * (len(names) - len(budgets))
    for name, eps in zip(names, budgets, strict=False):
        target = load_builtin_target(name)
        data = load_builtin(f"{builtin_entry(name).dataset}:test").subset(args.n, seed=0)
        model = target.model.eval()  # type: ignore[attr-defined]
        x, y = data.x, data.y
        with torch.no_grad():
            correct = model(torch.as_tensor(x)).argmax(1).numpy() == y
        steps = args.steps
        alpha = 2.5 * eps / steps
        n_cls = target.spec.n_classes

        pgd = PGD(eps=eps, steps=steps, step_size=alpha)
        apgd = APGDCE(eps=eps, steps=args.apgd_steps)

        def aisec_pgd(target=target, data=data, attack=pgd) -> np.ndarray:
            return attack.run(target, data, seed=0).artifacts["x_adv"]

        def aisec_apgd(target=target, data=data, attack=apgd) -> np.ndarray:
            return attack.run(target, data, seed=0).artifacts["x_adv"]

        tools: list[tuple[str, str, Callable[[], np.ndarray]]] = [
            ("pgd", "aisec", aisec_pgd),
            ("apgd-ce", "aisec", aisec_apgd),
        ]
        try:
            import torchattacks

            ta_pgd = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=True)
            ta_apgd = torchattacks.APGD(
                model, norm="Linf", eps=eps, steps=args.apgd_steps, n_restarts=1, loss="ce", seed=0
            )
            xt, yt = torch.as_tensor(x), torch.as_tensor(y)

            def ta_run(a=None, xt=xt, yt=yt) -> np.ndarray:
                return a(xt, yt).detach().numpy()

            tools += [
                ("pgd", "torchattacks", lambda a=ta_pgd: ta_run(a)),
                ("apgd-ce", "torchattacks", lambda a=ta_apgd: ta_run(a)),
            ]
        except ImportError:
            print("torchattacks not installed: skipped")
        try:
            from art.attacks.evasion import (
                AutoProjectedGradientDescent,
                ProjectedGradientDescentPyTorch,
            )
            from art.estimators.classification import PyTorchClassifier

            est = PyTorchClassifier(
                model=model,
                loss=torch.nn.CrossEntropyLoss(),
                input_shape=tuple(target.spec.shape),
                nb_classes=n_cls,
                clip_values=target.spec.bounds,
                device_type="cpu",
            )
            art_pgd = ProjectedGradientDescentPyTorch(
                est,
                norm=np.inf,
                eps=eps,
                eps_step=alpha,
                max_iter=steps,
                num_random_init=1,
                batch_size=512,
                verbose=False,
            )
            art_apgd = AutoProjectedGradientDescent(
                est,
                norm=np.inf,
                eps=eps,
                eps_step=2 * eps,
                max_iter=args.apgd_steps,
                nb_random_init=1,
                batch_size=512,
                loss_type="cross_entropy",
                verbose=False,
            )
            onehot = np.eye(n_cls, dtype=np.float32)[y]
            tools += [
                ("pgd", "ART", lambda a=art_pgd, x=x, t=onehot: a.generate(x, y=t)),
                ("apgd-ce", "ART", lambda a=art_apgd, x=x, t=onehot: a.generate(x, y=t)),
            ]
        except ImportError:
            print("adversarial-robustness-toolbox not installed: skipped")

        xc, yc = x[correct], y[correct]
        k = args.apgd_steps
        tools += [
            ("pgd", "bare", lambda m=model, a=xc, b=yc, s=steps: bare_passes(m, a, b, s)),
            ("apgd-ce", "bare", lambda m=model, a=xc, b=yc, s=k: bare_passes(m, a, b, s)),
        ]
        # round-robin repeats, so that load from other processes hits every tool alike
        best: dict[tuple[str, str], float] = {}
        outs: dict[tuple[str, str], np.ndarray] = {}
        for _ in range(args.repeat):
            for attack, tool, fn in tools:
                torch.manual_seed(0)
                np.random.seed(0)
                start = time.perf_counter()
                outs[(attack, tool)] = fn()
                sec = time.perf_counter() - start
                best[(attack, tool)] = min(sec, best.get((attack, tool), float("inf")))
        for attack, tool, _ in tools:
            if tool == "bare":
                bare[(name, attack)] = (best[(attack, tool)], steps if attack == "pgd" else k)
            else:
                adv = outs[(attack, tool)]
                rows.append(Row(name, attack, tool, robust(model, adv, x, y), best[(attack, tool)]))
        print(f"{name}: n={len(y)}, clean accuracy {correct.mean():.4f}, L-inf eps={eps:g}")

    print()
    print(f"threads: {torch.get_num_threads()}; times are the best of {args.repeat} runs")
    head = (
        f"{'model':<11} {'attack':<8} {'tool':<13} {'robust acc':>10} {'seconds':>8} "
        f"{'aisec/peer':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ours = next(a for a in rows if (a.model, a.attack, a.tool) == (r.model, r.attack, "aisec"))
        ratio = "" if r.tool == "aisec" else f"{ours.seconds / r.seconds:10.2f}"
        print(
            f"{r.model:<11} {r.attack:<8} {r.tool:<13} {r.robust_accuracy:>10.4f} "
            f"{r.seconds:>8.3f} {ratio:>10}"
        )
    print()
    print("bare forward+backward passes (steps x clean-correct points, one batch):")
    for (model_name, attack), (sec, steps) in bare.items():
        ours = next(a for a in rows if (a.model, a.attack, a.tool) == (model_name, attack, "aisec"))
        print(
            f"  {model_name:<11} {attack:<8} {steps:>4} steps: {sec:.3f} s; "
            f"aisec/bare = {ours.seconds / sec:.2f}"
        )


if __name__ == "__main__":
    main()
