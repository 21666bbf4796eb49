"""The evaluation ensemble against AutoAttack's own code, torchattacks' and ART's AutoAttack.

Same model, same points, same budget, the published standard version everywhere it exists:
APGD-CE (100 iterations, 1 restart), APGD-T (9 target classes, 100 iterations), FAB-T (9 target
classes, 100 iterations) and Square (5000 queries, p_init 0.8). The original is the authors'
code as packaged on PyPI (``pyautoattack``); torchattacks 3.5.1 ports it (its "standard" keeps
10 iterations for APGD-CE, APGD-T and FAB-T, so they are set to 100 here); ART 1.20.1 has no
FAB-T and no APGD-T, so it runs its closest configuration (APGD-CE, targeted APGD-DLR over the
other classes, Square) and says so. Prints robust accuracy and wall time per tool, the ratio of
each tool's time to aisec's, and aisec's and the original's time per stage.

Two models: ``mnist-cnn`` as trained (standard), and the same architecture trained with
FGSM adversarial training with random starts (Wong et al., ICLR 2020) for a few seeded epochs
(``--robust-epochs``, ``--train-eps`` 0.3) and attacked at eps 0.2, so that most points survive
APGD-CE and the later stages do real work.
Timings use one thread; every tool runs once per repeat, round-robin, best time kept.

Run (peers in their own environment, see docs/benchmarks.md):

    python benchmarks/ensemble_vs_autoattack.py --n 100
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Row:
    """One tool on one model."""

    model: str
    tool: str
    robust_accuracy: float
    seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    note: str = ""


class Logits(nn.Module):
    """A plain module around a target's logits (what peers take)."""

    def __init__(self, target: object) -> None:
        super().__init__()
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.target.logits(x)  # type: ignore[attr-defined]


def robust(model: nn.Module, x_adv: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of points classified correctly both clean and after the attack."""
    with torch.no_grad():
        clean = model(x).argmax(1) == y
        adv = model(x_adv.float()).argmax(1) == y
    return float((clean & adv).float().mean())


def fgsm_rs_train(epochs: int, eps: float, seed: int) -> object:
    """mnist-cnn's architecture trained with FGSM-RS (step 1.25 eps) on mnist:train."""
    from aisec.data import load_builtin
    from aisec.targets.builtin.mnist import MNIST_SPEC, make_mnist_cnn
    from aisec.targets.torch import TorchClassifier

    torch.manual_seed(seed)
    data = load_builtin("mnist:train")
    x, y = torch.as_tensor(data.x), torch.as_tensor(data.y)
    model = make_mnist_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            xb, yb = x[order[i : i + 64]], y[order[i : i + 64]]
            delta = (torch.rand(xb.shape, generator=gen) * 2 - 1) * eps
            delta.requires_grad_(True)
            loss = F.cross_entropy(model((xb + delta).clamp(0, 1)), yb)
            (g,) = torch.autograd.grad(loss, delta)
            delta = (delta + 1.25 * eps * g.sign()).clamp(-eps, eps).detach()
            opt.zero_grad()
            F.cross_entropy(model((xb + delta).clamp(0, 1)), yb).backward()
            opt.step()
    return TorchClassifier(model.eval(), MNIST_SPEC, name="mnist-cnn-fgsm-rs")


def run_aisec(target: object, x: torch.Tensor, y: torch.Tensor, eps: float) -> Row:
    from aisec.attacks.evasion.ensemble import Ensemble
    from aisec.data.dataset import Dataset

    data = Dataset(x.numpy(), y.numpy(), name="bench")
    start = time.perf_counter()
    result = Ensemble(eps=eps, keep_adversarials=False).run(target, data, seed=0)
    seconds = time.perf_counter() - start
    o = result.outcome
    stages = {s.attack: s.seconds for s in o.stages}
    return Row("", "aisec", o.robust_accuracy, seconds, stages)


class _StageTimes(logging.Handler):
    """Reads the original's "robust accuracy after X: ... (total time T s)" debug lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.total: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        m = re.match(r"robust accuracy after (\S+): .*total time ([\d.]+) s", record.getMessage())
        if m:
            self.total[m.group(1).lower()] = float(m.group(2))


def run_original(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> Row:
    from pyautoattack import AutoAttack

    log = logging.getLogger("auto-attack")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    times = _StageTimes()
    log.handlers = [times]
    adversary = AutoAttack(model, norm="Linf", eps=eps, version="standard", seed=0)
    start = time.perf_counter()
    x_adv, _ = adversary.run_standard_evaluation(x, y, batch_size=len(x))
    seconds = time.perf_counter() - start
    stages, before = {}, 0.0
    for name, total in times.total.items():
        stages[name] = total - before
        before = total
    return Row("", "AutoAttack (original)", robust(model, x_adv, x, y), seconds, stages)


def run_torchattacks(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> Row:
    import torchattacks

    attack = torchattacks.AutoAttack(
        model, norm="Linf", eps=eps, version="standard", n_classes=10, seed=0
    )
    # torchattacks' "standard" keeps its attacks' default of 10 iterations; the paper's is 100
    for inner in attack._autoattack.attacks:
        if hasattr(inner, "steps"):
            inner.steps = 100
    start = time.perf_counter()
    x_adv = attack(x, y)
    seconds = time.perf_counter() - start
    return Row("", "torchattacks", robust(model, x_adv, x, y), seconds, note="steps set to 100")


def run_art(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> Row:
    from art.attacks.evasion import AutoAttack, AutoProjectedGradientDescent, SquareAttack
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(
        model,
        loss=nn.CrossEntropyLoss(),
        input_shape=tuple(x.shape[1:]),
        nb_classes=10,
        clip_values=(0.0, 1.0),
    )
    common = {
        "norm": np.inf,
        "eps": eps,
        "eps_step": 2 * eps,
        "batch_size": len(x),
        "verbose": False,
    }
    attacks = [
        AutoProjectedGradientDescent(
            clf, loss_type="cross_entropy", max_iter=100, nb_random_init=1, **common
        ),
        AutoProjectedGradientDescent(
            clf,
            loss_type="difference_logits_ratio",
            max_iter=100,
            nb_random_init=1,
            targeted=True,
            **common,
        ),
        SquareAttack(
            clf,
            norm=np.inf,
            eps=eps,
            max_iter=5000,
            p_init=0.8,
            nb_restarts=1,
            batch_size=len(x),
            verbose=False,
        ),
    ]
    attack = AutoAttack(
        clf,
        norm=np.inf,
        eps=eps,
        eps_step=2 * eps,
        attacks=attacks,
        batch_size=len(x),
        targeted=True,
    )
    start = time.perf_counter()
    x_adv = attack.generate(x.numpy(), y=y.numpy())
    seconds = time.perf_counter() - start
    return Row(
        "",
        "ART",
        robust(model, torch.as_tensor(x_adv), x, y),
        seconds,
        note="no FAB-T; targeted APGD-DLR over all classes",
    )


def main() -> None:
    """Parse options, run every tool on each model and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="points (mnist:test, seeded subset)")
    ap.add_argument("--eps", type=float, default=0.2, help="L-inf budget on the robust model")
    ap.add_argument("--train-eps", type=float, default=0.3, help="FGSM-RS training budget")
    ap.add_argument(
        "--standard-eps",
        type=float,
        default=0.1,
        help="budget on the standard model (0.3 breaks every point in APGD-CE)",
    )
    ap.add_argument("--robust-epochs", type=int, default=10, help="FGSM-RS training epochs")
    ap.add_argument("--repeat", type=int, default=1, help="round-robin repeats (best kept)")
    ap.add_argument("--tools", default="aisec,original,torchattacks,art")
    ap.add_argument("--models", default="standard,robust")
    args = ap.parse_args()
    torch.set_num_threads(1)

    from aisec.data import load_builtin
    from aisec.targets.builtin import builtin_entry

    data = load_builtin("mnist:test").subset(args.n, seed=0)
    x, y = torch.as_tensor(data.x), torch.as_tensor(data.y)
    models: dict[str, tuple[object, float]] = {}
    if "standard" in args.models:
        models["mnist-cnn"] = (builtin_entry("mnist-cnn").load(), args.standard_eps)
    if "robust" in args.models:
        t0 = time.perf_counter()
        models["mnist-cnn-fgsm-rs"] = (
            fgsm_rs_train(args.robust_epochs, args.train_eps, 0),
            args.eps,
        )
        print(f"trained the FGSM-RS model in {time.perf_counter() - t0:.0f}s")
    tools: dict[str, Callable[..., Row]] = {
        "aisec": lambda t, m, e: run_aisec(t, x, y, e),
        "original": lambda t, m, e: run_original(m, x, y, e),
        "torchattacks": lambda t, m, e: run_torchattacks(m, x, y, e),
        "art": lambda t, m, e: run_art(m, x, y, e),
    }
    rows: list[Row] = []
    for name, (target, eps) in models.items():
        module = Logits(target).eval()
        best: dict[str, Row] = {}
        for _ in range(args.repeat):
            for tool in args.tools.split(","):
                try:
                    row = tools[tool](target, module, eps)
                except ModuleNotFoundError as exc:
                    print(f"{tool} not installed ({exc.name}): skipped")
                    continue
                row.model = f"{name} eps={eps:g}"
                if tool not in best or row.seconds < best[tool].seconds:
                    best[tool] = row
        rows += best.values()
    print()
    print(f"{'model':28s} {'tool':22s} {'robust acc':>10s} {'seconds':>8s} {'/ aisec':>8s}")
    for row in rows:
        ref = next(r for r in rows if r.model == row.model and r.tool == "aisec")
        ratio = row.seconds / ref.seconds if ref.seconds else float("nan")
        print(
            f"{row.model:28s} {row.tool:22s} {row.robust_accuracy:10.3f} "
            f"{row.seconds:8.1f} {ratio:8.2f}  {row.note}"
        )
    print()
    for row in rows:
        if row.stages:
            parts = ", ".join(f"{k} {v:.1f}s" for k, v in row.stages.items())
            print(f"stages {row.model} {row.tool}: {parts}")


if __name__ == "__main__":
    main()
