"""Model extraction: train a substitute from the target's answers under a query budget.

Three ways to choose the queries:

- ``random``: uniform samples in the input bounds (the baseline of Knockoff Nets);
- ``data``: natural samples from the attacker's pool (Orekondy et al., "Knockoff Nets", CVPR
  2019, random selection); once the pool is spent, jittered copies of it;
- ``adaptive``: Jacobian-based augmentation (Papernot et al., "Practical Black-Box Attacks",
  AsiaCCS 2017): a small seed set from the pool, then rounds that add
  ``x + lambda * sign(grad_x substitute[label(x)])`` for every query so far.

The substitute (a ReLU MLP; the attacker does not know the architecture) learns the revealed
answers: full probability vectors where the target reveals scores (soft labels), the label
alone otherwise. Fidelity (agreement with the target) and accuracy are measured on held-out data
after every step of ``curve``; adversarial examples crafted with aisec's PGD on the final
substitute are then sent to the target (transfer), and a PRADA monitor watches the attack's
query stream and benign streams from the test distribution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from aisec import progress
from aisec.base import Measurement, NotApplicable, SecurityTest
from aisec.data.dataset import Dataset
from aisec.data.splits import REFERENCE, TEST, TRAIN, Splits
from aisec.defences.prada import watch
from aisec.errors import DataError
from aisec.findings import FindingRule
from aisec.params import Boolean, Interval, ListOf, OptionalOf, Options, Param, declare
from aisec.records import Severity
from aisec.records.privacy import ExtractionOutcome, MonitorScore, QueryPoint
from aisec.registry import register
from aisec.targets.base import Capability, OutputMode, Target
from aisec.targets.builtin.stacked import Mlp
from aisec.targets.torch import TorchClassifier
from aisec.targets.views import Classifier, classifier

STRATEGIES = ("random", "data", "adaptive")


def _fidelity(o: ExtractionOutcome) -> float:
    return o.fidelity


EXT_001: FindingRule[ExtractionOutcome] = FindingRule(
    rule="EXT-001",
    outcome=ExtractionOutcome,
    measure=_fidelity,
    thresholds={
        Severity.CRITICAL: 0.97,
        Severity.HIGH: 0.9,
        Severity.MEDIUM: 0.75,
        Severity.LOW: 0.5,
    },
    title=lambda o, s: (
        f"a substitute trained on {o.queries} {o.output_mode} answers ({o.strategy} queries) "
        f"agrees with {s.target} on {o.fidelity:.1%} of held-out inputs (accuracy "
        f"{o.accuracy:.1%} vs the target's {o.target_accuracy:.1%})"
        + (
            f"; {o.transfer_rate:.0%} of its adversarial examples transfer"
            if o.transfer_rate is not None
            else ""
        )
    ),
    evidence=lambda o: {
        "strategy": o.strategy,
        "output_mode": o.output_mode,
        "budget": o.budget,
        "queries": o.queries,
        "fidelity": o.fidelity,
        "accuracy": o.accuracy,
        "target_accuracy": o.target_accuracy,
        "transfer_rate": o.transfer_rate,
        "curve": [[p.queries, p.fidelity, p.accuracy] for p in o.curve],
        "monitor_flagged": None if o.monitor is None else o.monitor.flagged,
        "monitor_false_alarm_rate": None if o.monitor is None else o.monitor.false_alarm_rate,
    },
    key=lambda o: f"{o.strategy}:{o.output_mode}:{o.budget}",
    recommendation=(
        "Limit and monitor queries per client (rate limits, PRADA-style stream monitoring), "
        "reveal labels or rounded scores rather than full scores, and watermark or fingerprint "
        "the model so that a stolen copy can be recognised."
    ),
    recommendation_below=(
        "The substitute stayed far from the target at this budget; re-assess with larger "
        "budgets and natural data before raising query limits."
    ),
)
"""Rule EXT-001 (docs/findings.md): severity from the substitute's fidelity at the budget."""


@register
class Knockoff(SecurityTest):
    """Model extraction with random, natural-data or Jacobian-augmented queries.

    References: Tramer et al., USENIX Security 2016; Papernot et al., AsiaCCS 2017; Orekondy
    et al., CVPR 2019; Juuti et al. (PRADA), EuroS&P 2019.
    """

    id = "extraction.knockoff"
    name = "Model extraction"
    family = "extraction"
    requires = frozenset({Capability.LABELS})
    threats = ("model-extraction",)
    references = (
        "Tramer et al., USENIX Security 2016, arXiv:1609.02943",
        "Papernot et al., AsiaCCS 2017, arXiv:1602.02697",
        "Orekondy et al., CVPR 2019, arXiv:1812.02766",
        "Juuti et al., EuroS&P 2019, arXiv:1805.02628",
    )
    data_kind = "splits"
    array_inputs = True
    outcome_type = ExtractionOutcome
    rules = (EXT_001,)
    parameters = declare(
        budget=Param(1000, Interval(int, 1, 10_000_000), "Most queries sent to the target."),
        strategy=Param("data", Options(STRATEGIES), "Query selection: random, data or adaptive."),
        curve=Param(
            [0.1, 0.25, 0.5, 1.0],
            ListOf(Interval(float, 0.0, 1.0, closed="right"), max_len=12),
            "Fractions of the budget at which the substitute is trained and measured.",
        ),
        epochs=Param(60, Interval(int, 1, 10_000), "Substitute training epochs."),
        hidden=Param(
            [256, 128], ListOf(Interval(int, 1, 65_536), max_len=8), "Substitute hidden widths."
        ),
        transfer_eps=Param(
            0.1,
            OptionalOf(Interval(float, 0.0, None, closed="neither")),
            "L-inf budget of the transfer attack (null: skip it).",
        ),
        monitor=Param(True, Boolean(), "Watch the query streams with a PRADA monitor."),
        monitor_threshold=Param(
            0.85, Interval(float, 0.0, 1.0), "PRADA: Shapiro-Wilk W below which it flags."
        ),
        benign_streams=Param(5, Interval(int, 1, 100), "PRADA: benign streams watched."),
        max_eval=Param(1000, Interval(int, 10, 1_000_000), "Most held-out points measured."),
    )

    def _execute(
        self, target: Target, data: Splits, params: dict[str, Any], seed: int
    ) -> Measurement | NotApplicable:
        view = classifier(target, self.id)
        pool, held = extraction_data(data, seed, f"{self.name} ({self.id})")
        held = held.subset(params["max_eval"], seed=seed)
        target_labels = view.with_output_mode(OutputMode.LABEL_ONLY).predict_labels(held.x)
        before = target.queries
        gen = torch.Generator().manual_seed(seed)
        stream, answers = query_stream(view, pool, params, gen)
        spent = target.queries - before
        widths = (int(np.prod(view.spec.shape)), *params["hidden"], view.spec.n_classes)
        soft = soft_labels(view, answers)
        curve: list[QueryPoint] = []
        substitute: nn.Module | None = None
        steps = sorted({max(1, round(f * len(stream))) for f in params["curve"]} | {len(stream)})
        for i, q in enumerate(steps):
            progress.note(f"training the substitute on {q} answers ({i + 1}/{len(steps)})")
            substitute = train_substitute(widths, stream[:q], soft[:q], params["epochs"], seed)
            pred = substitute_labels(substitute, held.x)
            curve.append(
                QueryPoint(
                    q,
                    float(np.mean(pred == target_labels)),
                    float(np.mean(pred == held.y)),
                )
            )
        assert substitute is not None
        transfer = None
        if params["transfer_eps"] is not None:
            transfer = transfer_rate(
                view, substitute, held, target_labels, float(params["transfer_eps"]), seed
            )
        monitor = None
        if params["monitor"]:
            monitor = _monitor(stream, answers, view, pool, held, params, seed)
        outcome = ExtractionOutcome(
            strategy=params["strategy"],
            output_mode=view.output_mode.value,
            budget=params["budget"],
            queries=int(spent),
            fidelity=curve[-1].fidelity,
            accuracy=curve[-1].accuracy,
            target_accuracy=float(np.mean(target_labels == held.y)),
            n_eval=len(held),
            curve=tuple(curve),
            transfer_rate=transfer,
            transfer_eps=params["transfer_eps"] if transfer is not None else None,
            monitor=monitor,
        )
        return Measurement(outcome)


def extraction_data(data: Splits, seed: int, what: str) -> tuple[Dataset, Dataset]:
    """The attacker's pool (``reference``, else ``train``, else half of ``test``) and the
    held-out data fidelity is measured on (``test``, or its other half)."""
    if TEST not in data:
        raise DataError(
            f"{what} needs a `test` split to measure fidelity on; {data.name} has "
            f"{', '.join(data.parts)}"
        )
    test = data[TEST]
    for role in (REFERENCE, TRAIN):
        if role in data:
            return data[role], test
    if len(test) < 20:
        raise DataError(
            f"{what}: the test split has {len(test)} samples; give at least 20 or "
            "a `reference` split for the attacker's queries"
        )
    order = np.random.default_rng(seed).permutation(len(test))
    half = len(test) // 2
    return test.take(order[:half]), test.take(order[half:])


def query_stream(
    view: Classifier, pool: Dataset, params: dict[str, Any], gen: torch.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The queries in the order sent, and the target's answers to them."""
    budget, strategy = params["budget"], params["strategy"]
    lo, hi = view.spec.bounds
    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    if strategy == "random":
        x = rng.uniform(lo, hi, (budget, *view.spec.shape)).astype(np.float32)
        return x, np.asarray(view.predict(x))
    if strategy == "data":
        x = natural(pool.x, budget, rng, (lo, hi))
        return x, np.asarray(view.predict(x))
    return jacobian_stream(view, pool, params, rng)


def natural(pool: np.ndarray, n: int, rng: np.random.Generator, bounds: tuple[float, float]):
    """``n`` pool samples in random order; past the pool, copies with 5% Gaussian jitter."""
    order = np.concatenate([rng.permutation(len(pool)) for _ in range(-(-n // len(pool)))])[:n]
    x = pool[order].astype(np.float32)
    extra = np.arange(n) >= len(pool)
    if extra.any():
        lo, hi = bounds
        noise = rng.normal(0, 0.05 * (hi - lo), x[extra].shape).astype(np.float32)
        x[extra] = np.clip(x[extra] + noise, lo, hi)
    return x


def jacobian_stream(
    view: Classifier, pool: Dataset, params: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Papernot et al.'s Jacobian-based augmentation, truncated at the budget."""
    budget = params["budget"]
    lo, hi = view.spec.bounds
    n_seed = min(len(pool), max(view.spec.n_classes, budget // 10))
    xs = [pool.x[rng.permutation(len(pool))[:n_seed]].astype(np.float32)]
    answers = [np.asarray(view.predict(xs[0]))]
    widths = (int(np.prod(view.spec.shape)), *params["hidden"], view.spec.n_classes)
    lam = 0.1 * (hi - lo)
    rounds = 0
    while sum(len(a) for a in xs) < budget:
        rounds += 1
        x_all, a_all = np.concatenate(xs), np.concatenate(answers)
        sub = train_substitute(widths, x_all, soft_labels(view, a_all), 20, rounds)
        room = budget - len(x_all)
        pick = x_all[:room]
        labels = soft_labels(view, a_all[:room]).argmax(axis=1)
        xt = torch.as_tensor(pick).requires_grad_(True)
        out = sub(xt)
        out.gather(1, torch.as_tensor(labels).view(-1, 1)).sum().backward()
        assert xt.grad is not None
        step = np.sign(xt.grad.numpy()) * lam * (1 if rounds % 2 else -1)
        new = np.clip(pick + step, lo, hi).astype(np.float32)
        xs.append(new)
        answers.append(np.asarray(view.predict(new)))
    return np.concatenate(xs)[:budget], np.concatenate(answers)[:budget]


def soft_labels(view: Classifier, answers: np.ndarray) -> np.ndarray:
    """Revealed answers as probability vectors the substitute learns."""
    c = view.spec.n_classes
    mode = view.output_mode
    if mode is OutputMode.LABEL_ONLY or answers.ndim == 1:
        return np.eye(c, dtype=np.float32)[answers.astype(int)]
    a = answers.astype(np.float64)
    if mode is OutputMode.LOGITS:
        z = np.exp(a - a.max(axis=1, keepdims=True))
        return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)
    if mode is OutputMode.TOP1_PROBABILITY:
        top = a.argmax(axis=1)
        p_top = a[np.arange(len(a)), top]
        out = np.repeat(((1 - p_top) / max(c - 1, 1))[:, None], c, axis=1)
        out[np.arange(len(a)), top] = p_top
        return out.astype(np.float32)
    total = np.clip(a.sum(axis=1, keepdims=True), 1e-12, None)  # rounded or top-k scores
    return (a / total).astype(np.float32)


def train_substitute(
    widths: tuple[int, ...], x: np.ndarray, soft: np.ndarray, epochs: int, seed: int
) -> nn.Module:
    """An MLP trained with Adam on soft labels (cross-entropy against the revealed vectors)."""
    torch.manual_seed(seed)
    net = Mlp(widths)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    st = torch.as_tensor(soft, dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    batch = 64
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            loss = -(st[idx] * torch.log_softmax(net(xt[idx]), dim=1)).sum(dim=1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return net.eval()


def substitute_labels(net: nn.Module, x: np.ndarray) -> np.ndarray:
    """The labels a trained substitute predicts for ``x``."""
    with torch.inference_mode():
        return net(torch.as_tensor(x, dtype=torch.float32)).argmax(dim=1).numpy()


def transfer_rate(
    view: Classifier,
    substitute: nn.Module,
    held: Dataset,
    target_labels: np.ndarray,
    eps: float,
    seed: int,
) -> float | None:
    """Share of PGD examples crafted on the substitute that the target misclassifies (among
    held-out points the target classifies correctly)."""
    from aisec.attacks.evasion.pgd import PGD

    ok = target_labels == held.y
    if not ok.any():
        return None
    sub = TorchClassifier(model=substitute, spec=view.spec, name="substitute")
    x = torch.as_tensor(held.x[ok], dtype=torch.float32)
    y = torch.as_tensor(held.y[ok], dtype=torch.long)
    adv = PGD(steps=20).perturb(
        sub, x, y, eps=eps, norm="linf", generator=torch.Generator().manual_seed(seed)
    )
    fooled = view.with_output_mode(OutputMode.LABEL_ONLY).predict_labels(adv.x_adv.numpy())
    return float(np.mean(fooled != held.y[ok]))


def _monitor(
    stream: np.ndarray,
    answers: np.ndarray,
    view: Classifier,
    pool: Dataset,
    held: Dataset,
    params: dict[str, Any],
    seed: int,
) -> MonitorScore:
    threshold = float(params["monitor_threshold"])
    labels = soft_labels(view, answers).argmax(axis=1)
    attack = watch(stream, labels, threshold=threshold)
    rng = np.random.default_rng(seed + 1)
    natural_x = np.concatenate([pool.x, held.x])
    natural_labels = view.with_output_mode(OutputMode.LABEL_ONLY).predict_labels(natural_x)
    length = min(len(stream), len(natural_x))
    flagged = 0
    n = params["benign_streams"]
    for _ in range(n):
        idx = rng.permutation(len(natural_x))[:length]
        flagged += (
            watch(natural_x[idx], natural_labels[idx], threshold=threshold).flagged_at is not None
        )
    return MonitorScore(
        method="prada",
        flagged=attack.flagged_at is not None,
        queries_to_flag=attack.flagged_at,
        benign_streams=n,
        false_alarm_rate=flagged / n,
        threshold=threshold,
    )
