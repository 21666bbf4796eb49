"""Pre-processing defences on digits-cnn: what plain PGD reports and what BPDA / EoT find.

For each defence: clean accuracy, robust accuracy under PGD (40 steps) with the deployed
gradient, robust accuracy under the AutoAttack ensemble (fast preset) through the adaptive view
(BPDA, or EoT over 8 draws), scored by the deployed defence, and the gradient-masking sanity
rules that fail on the deployed model. L-inf 0.1, 100 test points.

    python benchmarks/preprocessing_adaptive.py
"""

from __future__ import annotations

import torch

from aisec.attacks.evasion.ensemble import Ensemble
from aisec.attacks.evasion.pgd import PGD
from aisec.attacks.evasion.sanity import GradientMaskingSanity
from aisec.data import load_builtin
from aisec.defences.preprocessing import PREPROCESSORS, Preprocessed, make_preprocessor
from aisec.targets import load_builtin_target

EPS, N = 0.1, 100


def main() -> None:
    torch.set_num_threads(1)
    test = load_builtin("digits:test")
    base = load_builtin_target("digits-cnn")
    x, y = torch.as_tensor(test.x[:N]), torch.as_tensor(test.y[:N])

    def robust(model, adv) -> float:
        clean = model.predict_labels(x.numpy()) == y.numpy()
        return float((clean & (model.predict_labels(adv.numpy()) == y.numpy())).mean())

    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    und = Ensemble(preset="fast").perturb(base, x, y, eps=EPS, norm="linf", generator=gen())
    print(f"undefended: clean {robust(base, x):.2f}, ensemble {robust(base, und.x_adv):.2f}")
    print(f"{'defence':24} {'clean':>5} {'plain PGD':>9} {'adaptive':>8}  sanity failed")
    for name in PREPROCESSORS:
        deployed = Preprocessed(base, make_preprocessor(name))
        plain = PGD(eps=EPS, steps=40, loss="ce").perturb(
            deployed, x, y, eps=EPS, norm="linf", generator=gen()
        )
        adaptive = Ensemble(preset="fast").perturb(
            deployed.adaptive(8), x, y, eps=EPS, norm="linf", generator=gen()
        )
        sanity = GradientMaskingSanity(eps=EPS, limit=60, steps=20, square_queries=300)
        failed = sanity.run(deployed, test, seed=0).metrics["failed"]
        print(
            f"{deployed.preprocessor.label():24} {robust(deployed, x):5.2f} "
            f"{robust(deployed, plain.x_adv):9.2f} {robust(deployed, adaptive.x_adv):8.2f}  "
            f"{', '.join(failed)}"
        )


if __name__ == "__main__":
    main()
