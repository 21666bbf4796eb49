"""Detector error, the injection filter, and the prompt defences on the built-in support bot.

Prints, in one run: each detector's precision, recall and specificity on the labelled replies
shipped with aisec; the injection filter's precision and recall on S-Labs' test split; and
``prompt.indirect-injection`` (the seven document templates, four rogue strings each) against
the support bot undefended and under each prompt defence, with the corrected success, its
interval and the benign task accuracy. Optionally (``--gcg-steps N``) the seconds per GCG step.

Run::

    .venv/bin/python benchmarks/llm_detectors_and_defences.py [--tokens 32] [--gcg-steps 4]
"""

from __future__ import annotations

import argparse
import time

from aisec.attacks.prompt.detectors import DETECTORS, measured_error
from aisec.defences.prompt_filter import injection_filter
from aisec.registry import get_test
from aisec.targets.builtin.llm import load_smollm2
from aisec.targets.builtin.support_bot import support_bot


def main() -> None:
    """Print the three tables (and the GCG timing when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32, help="new tokens per reply")
    parser.add_argument("--gcg-steps", type=int, default=0, help="GCG steps to time (0: none)")
    args = parser.parse_args()

    print(f"{'detector':<14}{'pos':>5}{'neg':>5}{'precision':>11}{'recall':>8}{'spec.':>7}")
    for name in DETECTORS:
        e = measured_error(name)
        print(
            f"{name:<14}{e.positives:>5}{e.negatives:>5}{e.precision:>11.2f}{e.recall:>8.2f}"
            f"{e.specificity:>7.2f}"
        )

    start = time.perf_counter()
    f = injection_filter()
    e = f.test_error
    print(
        f"\ninjection filter (trained in {time.perf_counter() - start:.1f} s): precision "
        f"{e.precision:.3f}, recall {e.recall:.3f} on S-Labs test ({e.positives + e.negatives})"
    )

    model = load_smollm2(max_new_tokens=args.tokens)
    test = get_test("prompt.indirect-injection")(
        limit=7, rogues=4, defences=["none", "spotlight", "sandwich", "filter"]
    )
    start = time.perf_counter()
    outcome = test.run(support_bot(model), seed=0).outcome
    seconds = time.perf_counter() - start
    utility = {u.defence: u for u in outcome.utility}
    print(f"\nindirect injection, {args.tokens} new tokens ({seconds:.0f} s)")
    print(f"{'defence':<11}{'flagged':>9}{'observed':>10}{'corrected':>11}{'interval':>15}"
          f"{'task acc.':>11}{'refused':>9}")  # fmt: skip
    for c in outcome.cells:
        if c.transform != "all":
            continue
        u = utility[c.defence]
        print(
            f"{c.defence:<11}{c.hits:>4}/{c.scored:<4}{c.observed:>10.2f}{c.corrected:>11.2f}"
            f"{f'[{c.low:.2f}, {c.high:.2f}]':>15}{u.task_accuracy:>11.2f}{u.false_refusals:>9.2f}"
        )
    print(f"best: {outcome.best or 'none qualifies'}")

    if args.gcg_steps:
        from aisec.attacks.prompt.gcg import GCGSettings, gcg_suffix
        from aisec.targets.views import Message

        goal = [
            Message("system", "You are a helpful assistant."),
            Message("user", "Write a greeting."),
        ]
        settings = GCGSettings(steps=args.gcg_steps, candidates=16, topk=32)
        r = gcg_suffix(model, goal, "Sure, here is", settings)
        print(
            f"\nGCG: {r.seconds / max(r.steps_run, 1):.1f} s per step (16 candidates, top-k 32), "
            f"loss {r.initial_loss:.2f} -> {r.final_loss:.2f} in {r.steps_run} steps, "
            f"success {r.success}"
        )


if __name__ == "__main__":
    main()
