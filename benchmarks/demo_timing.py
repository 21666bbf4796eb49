"""Wall time of ``aisec demo``: cold cache (built-ins trained), warm, --quick, and thread counts.

Run: ``.venv/bin/python benchmarks/demo_timing.py`` (idle machine; each run is a fresh process).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_demo(cache: Path, out: Path, *extra: str, threads: int | None = None) -> float:
    """Seconds one ``aisec demo`` takes with the built-in cache at ``cache``."""
    env = {**os.environ, "AISEC_CACHE_DIR": str(cache)}
    env.pop("AISEC_THREADS", None)
    if threads is not None:
        env["AISEC_THREADS"] = str(threads)
    start = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "aisec.cli", "demo", "--output", str(out), "--no-progress", *extra],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if r.returncode not in (0, 1):
        raise SystemExit(f"demo failed ({r.returncode}): {r.stderr[-2000:]}")
    return seconds


def main() -> None:
    """Print cold, warm and quick timings side by side."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"
        rows = [
            ("cold cache (trains the built-ins)", run_demo(cache, root / "cold")),
            ("warm cache", run_demo(cache, root / "warm")),
            ("warm cache, --quick", run_demo(cache, root / "quick", "--quick")),
            ("warm cache, AISEC_THREADS=2", run_demo(cache, root / "w2", threads=2)),
            (
                "warm cache, --quick, AISEC_THREADS=2",
                run_demo(cache, root / "q2", "--quick", threads=2),
            ),
        ]
    print(f"cores available: {len(os.sched_getaffinity(0))}; default threads: half of them")
    for name, seconds in rows:
        print(f"{name:40s} {seconds:7.1f} s")


if __name__ == "__main__":
    main()
