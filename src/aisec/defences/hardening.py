"""Hardening by training: PGD adversarial training, TRADES and Gaussian-noise training.

Each method trains the recipe's own architecture (``TrainingRecipe.module``) from scratch on the
training data, with the recipe's optimiser settings, and deploys it as the recipe deploys its
models:

- ``pgd-at`` (Madry et al., ICLR 2018): every batch is replaced by PGD adversarial examples
  (random start, ``steps`` steps of ``step_size``, no early stop) made by aisec's own PGD;
- ``trades`` (Zhang et al., ICML 2019): cross-entropy on the clean batch plus ``beta`` times the
  KL divergence between the clean and the adversarial softmax, the adversarial points found by
  maximising that KL divergence with aisec's steps and projections;
- ``noise``: cross-entropy on Gaussian-noised copies (``sigma``), the base classifier of
  randomized smoothing (Cohen et al., ICML 2019).

The weights are cached under a digest of the data, the settings and the seed, as the built-ins
are, so hardening the same model twice costs nothing the second time.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from aisec.errors import ParameterError, TargetError
from aisec.targets.base import Target
from aisec.targets.recipes import TrainingRecipe

METHODS = ("pgd-at", "trades", "noise")
"""Hardening methods :func:`harden` knows."""


@dataclass(frozen=True)
class HardeningSettings:
    """What a hardening run is asked for."""

    method: str = "pgd-at"
    """``pgd-at``, ``trades`` or ``noise``."""
    eps: float = 0.1
    """Budget of the training attack (``pgd-at``, ``trades``)."""
    norm: str = "linf"
    """Norm of the training attack."""
    steps: int = 10
    """Steps of the training attack."""
    step_size: float | None = None
    """Step of the training attack (default ``2.5 * eps / steps``)."""
    beta: float = 6.0
    """Weight of the TRADES robustness term."""
    sigma: float = 0.25
    """Noise standard deviation of ``noise`` training."""
    epochs: int | None = None
    """Passes over the data (default: the recipe's)."""
    lr: float | None = None
    """Adam learning rate (default: the recipe's)."""
    batch_size: int | None = None
    """Batch size (default: the recipe's)."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ParameterError(
                "hardening",
                [f"unknown hardening method {self.method!r}; use one of {', '.join(METHODS)}"],
            )
        if self.norm not in ("linf", "l2"):
            raise ParameterError(
                "hardening", [f"hardening norm must be linf or l2; got {self.norm!r}"]
            )
        if self.eps <= 0 or self.sigma <= 0 or self.steps < 1:
            raise ParameterError("hardening", ["hardening needs eps > 0, sigma > 0 and steps >= 1"])

    def resolved(self, recipe: TrainingRecipe) -> HardeningSettings:
        """These settings with the recipe's epochs, learning rate and batch size filled in."""
        fit = dict(recipe.fit)
        return HardeningSettings(
            **{
                **asdict(self),
                "epochs": self.epochs or int(fit.get("epochs", 30)),
                "lr": self.lr or float(fit.get("lr", 1e-3)),
                "batch_size": self.batch_size or int(fit.get("batch_size", 64)),
                "step_size": self.step_size or 2.5 * self.eps / self.steps,
            }
        )

    def label(self) -> str:
        """Short description, e.g. ``pgd-at linf 0.1``."""
        if self.method == "noise":
            return f"noise sigma {self.sigma:g}"
        return f"{self.method} {self.norm} {self.eps:g}"


@dataclass(frozen=True)
class HardenedModel:
    """A hardened model and its training record."""

    target: Target
    """The trained model, deployed as the recipe deploys its models."""
    module: Any
    """The trained ``nn.Module`` (for export)."""
    settings: HardeningSettings
    """The settings it was trained with (recipe defaults filled in)."""
    seconds: float
    """Wall time of the training (as measured when it ran; cached models keep it)."""
    losses: tuple[float, ...]
    """Mean training loss per epoch."""

    def record(self) -> dict[str, Any]:
        """The training record, for reports and ``aisec harden``."""
        return {
            "settings": asdict(self.settings),
            "seconds": self.seconds,
            "epoch_losses": list(self.losses),
        }


def harden(
    recipe: TrainingRecipe,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    settings: HardeningSettings,
) -> HardenedModel:
    """Train ``recipe``'s architecture on ``(x, y)`` with ``settings``'s method (cached)."""
    if recipe.module is None or recipe.deploy is None:
        raise TargetError(
            f"hardening trains the recipe's module itself, and the recipe {recipe.name!r} "
            "gives none; use a built-in target or a recipe with `module` and `deploy`"
        )
    from aisec.targets.builtin.cache import cached_tensors
    from aisec.targets.builtin.training import load_numpy_state, state_to_numpy

    s = settings.resolved(recipe)
    h = hashlib.sha256(repr((recipe.name, recipe.params, s, seed, x.shape)).encode())
    h.update(np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())

    def fit() -> dict[str, np.ndarray]:
        start = time.perf_counter()
        module, losses = train_hardened(recipe, x, y, seed, s)
        return {
            **{f"m.{k}": v for k, v in state_to_numpy(module).items()},
            "seconds": np.array([time.perf_counter() - start]),
            "losses": np.asarray(losses, dtype=np.float64),
        }

    state = cached_tensors(f"{recipe.name}-{s.method}-{h.hexdigest()[:24]}", fit)
    module = load_numpy_state(
        recipe.module(), {k[2:]: v for k, v in state.items() if k[:2] == "m."}
    )
    target = recipe.deploy(module)
    return HardenedModel(
        target, module, s, float(state["seconds"][0]), tuple(float(v) for v in state["losses"])
    )


def train_hardened(
    recipe: TrainingRecipe, x: np.ndarray, y: np.ndarray, seed: int, s: HardeningSettings
) -> tuple[Any, list[float]]:
    """The training loop itself (uncached); returns the module and the per-epoch losses."""
    import torch

    assert recipe.module is not None and recipe.deploy is not None
    assert s.epochs is not None and s.lr is not None and s.batch_size is not None
    torch.manual_seed(seed)
    module = recipe.module()
    # the deployed view applies the recipe's normalisation and bounds; training needs its
    # parameters back (deployment freezes them)
    view = recipe.deploy(module)
    for p in module.parameters():
        p.requires_grad_(True)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(module.parameters(), lr=s.lr)
    losses = []
    for _ in range(s.epochs):
        order = torch.randperm(len(xt), generator=gen)
        total, seen = 0.0, 0
        for i in range(0, len(order), s.batch_size):
            idx = order[i : i + s.batch_size]
            xb, yb = xt[idx], yt[idx]
            loss = _batch_loss(view, module, xb, yb, s, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        losses.append(total / max(seen, 1))
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module, losses


def _batch_loss(view: Any, module: Any, xb: Any, yb: Any, s: HardeningSettings, gen: Any) -> Any:
    import torch
    import torch.nn.functional as F

    assert s.step_size is not None
    if s.method == "noise":
        module.train()
        noise = torch.randn(xb.shape, generator=gen) * s.sigma
        return F.cross_entropy(view.logits(xb + noise), yb)
    module.eval()  # the attack sees the model as deployed (no dropout, frozen statistics)
    if s.method == "pgd-at":
        from aisec.attacks.evasion.pgd import pgd_run

        adv, _ = pgd_run(
            view,
            xb,
            yb,
            None,
            eps=s.eps,
            norm=s.norm,
            steps=s.steps,
            step_size=s.step_size,
            random_init=True,
            gen=gen,
            loss="ce",
            early_stop=False,
        )
        module.train()
        return F.cross_entropy(view.logits(adv.detach()), yb)
    adv = trades_adversarial(view, xb, s, gen)
    module.train()
    clean = view.logits(xb)
    robust = F.kl_div(
        F.log_softmax(view.logits(adv), dim=1), F.softmax(clean, dim=1), reduction="batchmean"
    )
    return F.cross_entropy(clean, yb) + s.beta * robust


def trades_adversarial(view: Any, xb: Any, s: HardeningSettings, gen: Any) -> Any:
    """TRADES' inner maximisation: the point in the ball whose softmax is farthest (KL) from
    the clean one, from a small Gaussian start (Zhang et al., Algorithm 1)."""
    import torch
    import torch.nn.functional as F

    from aisec.attacks.evasion.gradients import ascent_step, project

    assert s.step_size is not None
    lo, hi = view.spec.bounds
    with torch.no_grad():
        clean = F.softmax(view.logits(xb), dim=1)
    adv = (xb + 0.001 * torch.randn(xb.shape, generator=gen)).clamp(lo, hi)
    for _ in range(s.steps):
        adv = adv.detach().requires_grad_(True)
        kl = F.kl_div(F.log_softmax(view.logits(adv), dim=1), clean, reduction="sum")
        (grad,) = torch.autograd.grad(kl, adv)
        step = ascent_step(grad, s.norm, s.step_size)
        adv = (xb + project(adv.detach() + step - xb, s.norm, s.eps)).clamp(lo, hi)
    return adv.detach()
