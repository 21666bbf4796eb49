"""The Ray executor against the local one on the same machine: wall time and overhead per unit.

(a) A 16-unit assessment: PGD at 16 budgets on ``digits-cnn``, small enough that few points
    break early, so the units are of about equal length (``--steps`` sets it). It runs with
    the local executor, then twice on one local Ray instance with 2 CPUs (two units side by
    side): first with new workers (each starts Python, imports aisec and PyTorch, and builds
    the target), then with the same workers warm, as on a cluster that serves many runs.
(b) Many small units (``--small`` FGSM units of a few milliseconds, 2 CPUs), where the
    per-unit cost of the driver (submit, fetch, decode, store) is what bounds the size of
    cluster one driver can keep busy: a driver that spends ``c`` CPU seconds per unit handles
    ``1 / c`` units a second, which keeps ``T / c`` workers busy with units of ``T`` seconds.

The slot time lost per unit, ``(wall x slots - sum of the units' own seconds) / units`` (a
unit's seconds are timed by the test itself, on the worker), is split in two: "tail", slots
left idle at the end because no unit remained for them (any executor with several slots has
it; timed from when each result reaches the driver), and "overhead", the rest: what running
a unit through the executor costs (submitting, starting and feeding workers, building the
target on each, sending the result back and storing it). All of it comes from the same run,
so the figures hold however fast the machine is at the time (on a shared 2-core machine the
same unit took from 7 to 15 s from one minute to the next: read the "speed" column, a ratio
of wall times taken minutes apart, with that in mind). Ray's start-up (``ray.init``) is
printed apart, since a cluster is started once for many runs.

Run (about 8 minutes on 2 cores)::

    .venv/bin/python benchmarks/ray_executor.py --steps 2000 --small 200
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per unit in every mode


def config(tests: list[dict[str, Any]], kind: str, limit: int) -> Any:
    """An assessment of ``tests`` on ``digits-cnn``."""
    from aisec.assessment import parse_config

    return parse_config(
        {
            "name": "ray-bench",
            "seed": 1,
            "sanity_checks": False,
            "executor": {"kind": kind},
            "targets": [{"name": "cnn", "builtin": "digits-cnn", "limit": limit}],
            "tests": tests,
        }
    )


def measure(cfg: Any, slots: int) -> dict[str, float]:
    """Run ``cfg`` on a fresh store: wall time, the units' own time, and the slot time lost
    per unit, split into the tail (slots idle because no unit was left for them) and the rest
    (what running units through the executor costs)."""
    from aisec.assessment import ResultStore, run_assessment

    class Timed(ResultStore):
        """The store, noting when each result arrives."""

        def __init__(self, path: Path) -> None:
            super().__init__(path)
            self.arrivals: list[float] = []

        def save_result(self, *args: Any, **kw: Any) -> None:
            super().save_result(*args, **kw)
            self.arrivals.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp, Timed(Path(tmp) / "r.db") as store:
        t0, c0 = time.perf_counter(), time.process_time()
        outcome = run_assessment(cfg, store, progress=False)
        wall, driver = time.perf_counter() - t0, time.process_time() - c0
        results = [r for _, r in store.results(outcome.run_id)]
        arrivals = store.arrivals
    assert all(r.status.value == "ok" for r in results), [r.message for r in results]
    inside = sum(r.seconds for r in results)
    n = len(results)
    # Once the last unit is handed out, a slot whose unit completes stays idle to the end.
    tail = sum(arrivals[-1] - t for t in arrivals[-slots:-1]) if slots > 1 else 0.0
    lost = wall * slots - inside
    return {
        "units": n,
        "wall": wall,
        "unit_s": inside / n,
        "overhead_s": (lost - tail) / n,
        "tail_s": tail / n,
        "driver_s": driver / n,
    }


def with_ray(cpus: int, run: Any) -> tuple[float, dict[str, float]]:
    """``run()`` on a fresh local Ray instance of ``cpus`` CPUs; its start-up time apart."""
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, address="local", include_dashboard=False, log_to_driver=False)
    started = time.perf_counter() - t0
    try:
        return started, run()
    finally:
        ray.shutdown()


def row(label: str, m: dict[str, float], base: float | None = None) -> str:
    """One line of the table."""
    share = 100 * m["overhead_s"] / m["unit_s"]
    ratio = f"{base / m['wall']:6.2f}x" if base else "      -"
    return (
        f"{label:<26} {m['units']:>5.0f} {m['wall']:>8.1f} {m['unit_s']:>8.2f} "
        f"{m['tail_s']:>7.3f} {m['overhead_s']:>10.3f} {share:>8.1f}% {ratio}"
    )


def main() -> None:
    """Print both tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000, help="PGD steps per unit in (a).")
    ap.add_argument("--limit", type=int, default=200, help="Points per unit in (a).")
    ap.add_argument("--small", type=int, default=200, help="Units in (b).")
    args = ap.parse_args()
    from aisec.targets import load_builtin_target

    load_builtin_target("digits-cnn")  # trained and cached before anything is timed

    big = [
        {"id": "evasion.pgd", "params": {"eps": round(0.0005 * (i + 1), 4), "steps": args.steps}}
        for i in range(16)
    ]
    header = (
        f"{'executor':<26} {'units':>5} {'wall s':>8} {'unit s':>8} {'tail s':>7} "
        f"{'overhead s':>10} {'share':>9} speed"
    )
    print("(a) 16 units of", args.steps, "PGD steps on", args.limit, "points")
    print(header)
    local = measure(config(big, "local", args.limit), 1)
    print(row("local", local))

    def cold_then_warm() -> tuple[dict[str, float], dict[str, float]]:
        return measure(config(big, "ray", args.limit), 2), measure(
            config(big, "ray", args.limit), 2
        )

    start, (cold, warm) = with_ray(2, cold_then_warm)
    print(row("ray, 2 CPUs, new workers", cold, local["wall"]))
    print(row("ray, 2 CPUs, warm workers", warm, local["wall"]))
    print(f"ray.init: {start:.1f} s, not in the wall times")

    small = [
        {"id": "evasion.fgsm", "params": {"eps": round(0.001 * (i + 1), 4)}}
        for i in range(args.small)
    ]
    print(f"\n(b) {args.small} small units (FGSM on 20 points)")
    print(header)
    local_small = measure(config(small, "local", 20), 1)
    print(row("local", local_small))
    _, ray_small = with_ray(2, lambda: measure(config(small, "ray", 20), 2))
    print(row("ray, 2 CPUs", ray_small, local_small["wall"]))
    driver = ray_small["driver_s"]
    print(
        f"driver CPU per unit on Ray: {driver * 1000:.1f} ms (submit, fetch, decode, store), so "
        f"one driver feeds up to {1 / driver:.0f} units/s: about {10 / driver:.0f} workers "
        "busy with 10 s units"
    )


if __name__ == "__main__":
    main()
