"""Adapter for PyTorch classifiers: logits, gradients, batching and query counting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aisec.errors import ModelLoadError, TargetError
from aisec.supplychain.loading import import_factory, load_safetensors_state, load_torchscript
from aisec.targets.base import (
    Capability,
    InputSpec,
    OutputMode,
    QueryCounter,
    capabilities_for,
    check_inputs,
    shape_output,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from aisec.targets.recipes import TrainingRecipe


OUTPUT_KINDS = ("auto", "logits", "probabilities")
"""What a model's forward pass may return, as ``TorchClassifier(outputs=...)`` takes it."""

PROBABILITY_FLOOR = 1e-30
"""Smallest probability taken before the logarithm (float32 underflows to exactly 0)."""


def looks_like_probabilities(out: torch.Tensor) -> bool:
    """True when every row is non-negative and sums to one (a softmax output)."""
    import torch

    if out.ndim != 2 or out.shape[1] < 2:
        return False
    sums = out.double().sum(1)
    return bool((out >= 0).all()) and bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4))


@dataclass
class TorchClassifier:
    """Wrap an ``nn.Module`` that maps inputs in ``spec.bounds`` to class logits.

    Normalisation (``mean``/``std`` per channel) is applied inside, so attacks work in the
    input space the user sees. Gradients flow through :meth:`logits`.

    A model whose forward pass ends in a softmax returns probabilities, not logits; attacks
    that linearise the classifier (DeepFool, FAB) or read margins then work on a saturating
    function and overstate robustness. With ``outputs="auto"`` (the default) the first batch
    decides: rows that are non-negative and sum to one are probabilities, and :meth:`logits`
    returns their logarithm (logits up to a per-row shift, so class differences are exact).
    """

    model: nn.Module
    spec: InputSpec
    name: str = "torch-model"
    output_mode: OutputMode = OutputMode.LOGITS
    mean: Sequence[float] | None = None
    std: Sequence[float] | None = None
    batch_size: int = 512
    device: str = "cpu"
    recipe: TrainingRecipe | None = None
    """How to train the same architecture on new data (poisoning and privacy tests need it)."""
    source: str = ""
    """Where the model came from (file path or built-in name), for reports."""
    outputs: str = "auto"
    """What the forward pass returns: ``logits``, ``probabilities`` or ``auto`` (detected)."""
    _counter: QueryCounter = field(default_factory=QueryCounter, repr=False)

    def __post_init__(self) -> None:
        import torch

        self.output_mode = OutputMode(self.output_mode)
        if self.outputs not in OUTPUT_KINDS:
            raise TargetError(
                f"outputs must be one of {', '.join(OUTPUT_KINDS)}; got {self.outputs!r}"
            )
        self._probabilities: bool | None = {"auto": None, "logits": False}.get(self.outputs, True)
        self._device = torch.device(self.device)
        self.model = self.model.to(self._device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        if (self.mean is None) != (self.std is None):
            raise TargetError("give both `mean` and `std` for normalisation, or neither")
        self._norm: tuple[torch.Tensor, torch.Tensor] | None = None
        if self.mean is not None and self.std is not None:
            shape = (1, -1) + (1,) * (len(self.spec.shape) - 1)
            mean = torch.tensor(list(self.mean), dtype=torch.float32, device=self.device)
            std = torch.tensor(list(self.std), dtype=torch.float32, device=self.device)
            if torch.any(std <= 0):
                raise TargetError("normalisation `std` values must be positive")
            self._norm = (mean.view(shape), std.view(shape))

    # -- Target protocol -------------------------------------------------------------------
    @property
    def capabilities(self) -> frozenset[Capability]:
        """Gradients and scores unless the output mode hides them."""
        return capabilities_for(
            self.output_mode, differentiable=True, trainable=self.recipe is not None
        )

    @property
    def queries(self) -> int:
        """Samples answered so far (shared by all views of this model)."""
        return self._counter.count

    def reset_queries(self) -> None:
        """Zero the query counter."""
        self._counter.count = 0

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable logits for a batch; counts ``len(x)`` queries.

        Inputs on another device than the model are moved there and the logits moved back, so
        attacks can keep their tensors on the CPU while the model runs on an accelerator.
        """
        self._counter.count += int(x.shape[0])
        origin = x.device
        if origin != self._device:
            x = x.to(self._device)
        if self._norm is not None:
            x = (x - self._norm[0]) / self._norm[1]
        out = self.model(x)
        if self._probabilities is None and len(out):
            self._probabilities = looks_like_probabilities(out.detach())
        if self._probabilities:
            out = out.clamp_min(PROBABILITY_FLOOR).log()
        return out if out.device == origin else out.to(origin)

    @property
    def returns_probabilities(self) -> bool | None:
        """Whether the model's forward pass returns probabilities (None: not seen yet)."""
        return self._probabilities

    def logits_batched(self, x: torch.Tensor) -> torch.Tensor:
        """Logits without gradient, computed in batches of ``batch_size``."""
        return logits_in_batches(self.logits, x, self.batch_size, self.spec.n_classes)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Scores or labels for a numpy batch, as the output mode reveals."""
        logits = self.logits_batched(self.to_tensor(x)).float().cpu().numpy()
        return shape_output(logits, self.output_mode, scores_are_logits=True)

    def predict_labels(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels for a numpy batch."""
        return self.logits_batched(self.to_tensor(x)).argmax(1).cpu().numpy()

    def with_output_mode(self, mode: OutputMode | str) -> TorchClassifier:
        """A view of the same model (and query counter) revealing only ``mode``."""
        return replace(self, output_mode=OutputMode(mode), _counter=self._counter)

    def representations(self, x: np.ndarray) -> np.ndarray:
        """The activations entering the model's last linear layer (its learned features).

        Data-set defences (activation clustering, spectral signatures) and fine-pruning read
        them. Counts ``len(x)`` queries.
        """
        import torch

        last = last_linear(self.model, self.name)
        captured: list[torch.Tensor] = []

        def keep(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _out: object) -> None:
            captured.append(inputs[0].detach().flatten(1).cpu())

        handle = last.register_forward_hook(keep)
        try:
            self.logits_batched(self.to_tensor(x))
        finally:
            handle.remove()
        if not captured:
            return np.zeros((0, last.in_features), np.float32)
        return torch.cat(captured).float().numpy()

    def with_model(self, model: nn.Module) -> TorchClassifier:
        """The same deployment (spec, output mode, normalisation) around another module."""
        return replace(self, model=model, _counter=QueryCounter())

    def describe(self) -> dict[str, Any]:
        """Facts about the target for reports."""
        n_params = sum(p.numel() for p in self.model.parameters())
        return {
            "name": self.name,
            "kind": "torch",
            "source": self.source,
            "input_shape": list(self.spec.shape),
            "bounds": list(self.spec.bounds),
            "n_classes": self.spec.n_classes,
            "output_mode": self.output_mode.value,
            "model_outputs": {None: "not yet seen", True: "probabilities", False: "logits"}[
                self._probabilities
            ],
            "capabilities": sorted(c.value for c in self.capabilities),
            "parameters": int(n_params),
        }

    # -- helpers ----------------------------------------------------------------------------
    def to_tensor(self, x: np.ndarray) -> torch.Tensor:
        """Check a numpy batch against the spec and move it to the model's device."""
        import torch

        check_inputs(np.asarray(x), None, self.spec)
        return torch.as_tensor(np.asarray(x, dtype=np.float32), device=self.device)

    # -- constructors -----------------------------------------------------------------------
    @classmethod
    def from_torchscript(
        cls,
        path: str | Path,
        *,
        input_shape: Sequence[int],
        n_classes: int | None = None,
        bounds: tuple[float, float] = (0.0, 1.0),
        name: str | None = None,
        **kwargs: Any,
    ) -> TorchClassifier:
        """Load a TorchScript file (no pickle of arbitrary Python objects is involved)."""
        model = load_torchscript(path)
        return cls._with_inferred_classes(
            model, input_shape, n_classes, bounds, name or Path(path).stem, str(path), **kwargs
        )

    @classmethod
    def from_factory(
        cls,
        factory: str,
        weights: str | Path,
        *,
        input_shape: Sequence[int],
        n_classes: int | None = None,
        bounds: tuple[float, float] = (0.0, 1.0),
        name: str | None = None,
        **kwargs: Any,
    ) -> TorchClassifier:
        """Build ``module:function()`` and load a safetensors state dict into it."""
        model = import_factory(factory)()
        state = load_safetensors_state(weights)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ModelLoadError(
                f"weights {weights} do not fit the model built by {factory}: {first}"
            ) from None
        return cls._with_inferred_classes(
            model,
            input_shape,
            n_classes,
            bounds,
            name or factory.split(":")[-1],
            str(weights),
            **kwargs,
        )

    @classmethod
    def _with_inferred_classes(
        cls,
        model: nn.Module,
        input_shape: Sequence[int],
        n_classes: int | None,
        bounds: tuple[float, float],
        name: str,
        source: str,
        **kwargs: Any,
    ) -> TorchClassifier:
        import torch

        if n_classes is None:
            try:
                with torch.no_grad():
                    out = model.eval()(torch.zeros(1, *input_shape))
            except Exception as exc:  # the model's own error, from user code
                raise TargetError(
                    f"model {name!r} failed on an input of shape (1, {', '.join(map(str, input_shape))}): "
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
                    "check the data's shape matches the model"
                ) from None
            if out.ndim != 2:
                raise TargetError(
                    f"model {name!r} returned shape {tuple(out.shape)}; a classifier must return (N, classes)"
                )
            n_classes = int(out.shape[1])
        spec = InputSpec(
            shape=tuple(int(s) for s in input_shape), n_classes=n_classes, bounds=bounds
        )
        return cls(model=model, spec=spec, name=name, source=source, **kwargs)


def logits_in_batches(
    logits: Any, x: torch.Tensor, batch_size: int, n_classes: int
) -> torch.Tensor:
    """``logits(x)`` without gradient, ``batch_size`` inputs at a time."""
    import torch

    with torch.no_grad():
        parts = [logits(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(parts) if parts else torch.empty(0, n_classes, device=x.device)


def last_linear(model: nn.Module, name: str = "model") -> nn.Linear:
    """The last ``nn.Linear`` of a module, in registration order (its classification head)."""
    from torch import nn

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TargetError(
            f"model {name!r} has no nn.Linear layer whose inputs are its features; "
            "representation-based defences need a model with a linear classification head "
            "(TorchScript models hide their layers: give the factory and safetensors weights)"
        )
    return linears[-1]
