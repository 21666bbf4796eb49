"""Gradient attacks on deliberately masked models: what they report, and whether they say so.

Three masked versions of a built-in CNN (logits times 1e4; inputs rounded to a 1/4 grid; a
square root in front, whose gradient is infinite at zero pixels) and the model itself. For each,
every gradient attack's robust accuracy, how many of the points it left unbroken show signs of
masking, and the EVA-002 severity, beside the fast ensemble (whose Square stage needs no
gradients) as the reference for the true robust accuracy.

Run:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/masking_warnings.py --model mnist-cnn --n 100
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from aisec.data import load_builtin
from aisec.registry import get_test
from aisec.targets.builtin import builtin_entry
from aisec.targets.torch import TorchClassifier


class Scaled(nn.Module):
    """Logits times 1e4: the softmax saturates."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * 1e4


class Quantised(nn.Module):
    """Inputs rounded to a 1/4 grid: zero gradients."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(torch.round(x * 4) / 4)


class SquareRoot(nn.Module):
    """sqrt(x) squared in front: the same function, infinite gradients at zero."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(torch.sqrt(x) ** 2)


ATTACKS = [
    ("evasion.pgd", {"loss": "ce"}, "PGD (cross-entropy)"),
    ("evasion.pgd", {}, "PGD (loss: auto)"),
    ("evasion.apgd-ce", {}, "APGD-CE"),
    ("evasion.fgsm", {}, "FGSM"),
    ("evasion.deepfool", {"eps": None}, "DeepFool (unbounded)"),
    ("evasion.fab", {"eps": None, "norm": "l2", "steps": 50}, "FAB L2 (unbounded)"),
    ("evasion.ensemble", {"preset": "fast"}, "ensemble (fast), reference"),
]


def main() -> None:
    """Print one row per (model, attack)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="mnist-cnn", help="built-in target")
    ap.add_argument("--n", type=int, default=100, help="test points (seeded subset)")
    ap.add_argument("--eps", type=float, default=0.15, help="L-inf budget")
    args = ap.parse_args()
    torch.set_num_threads(1)
    entry = builtin_entry(args.model)
    base = entry.load()
    data = load_builtin(f"{entry.dataset}:test").subset(args.n, seed=0)
    models = {"as trained": base}
    for wrapper in (Scaled, Quantised, SquareRoot):
        models[wrapper.__name__.lower()] = TorchClassifier(
            wrapper(base.model), base.spec, name=wrapper.__name__.lower()
        )
    print(f"{args.model}, {args.n} points, L-inf eps {args.eps:g} (unbounded rows: any norm)")
    print(f"{'model':11s} {'attack':28s} {'robust':>7s} {'flagged':>10s}  EVA-002")
    for name, target in models.items():
        for test_id, params, label in ATTACKS:
            test = get_test(test_id)(**{"eps": args.eps, **params})
            result = test.run(target, data, seed=0)
            o = result.outcome
            signs = o.gradient_signs
            if signs is None:
                flagged = "-"
            else:
                base_n = signs.attacked if signs.unbounded else signs.unbroken
                flagged = f"{signs.flagged}/{base_n}"
            worst = [f.severity.value for f in test.findings(result) if f.rule == "EVA-002"]
            robust = (
                f"{o.robust_accuracy:.2f}"
                if o.eps is not None
                else f"{1 - o.attack_success_rate:.2f}"
            )
            print(
                f"{name:11s} {label:28s} {robust:>7s} {flagged:>10s}  {worst[0] if worst else '-'}"
            )


if __name__ == "__main__":
    main()
