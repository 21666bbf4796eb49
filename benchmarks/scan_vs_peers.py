"""aisec's model-file scanner against picklescan, modelscan and fickling on one corpus.

Prints, for each tool: detection rate on the hostile samples (overall and per category),
false-positive rate on benign files saved by real libraries, and throughput (MB/s) on large
benign checkpoints, with ratios to aisec. Peers are called through their Python APIs (the
``bench`` extra installs them); a missing peer is reported and skipped.

A tool "flags" a file when it gives its own non-clean verdict: aisec a finding of severity
high or above (benign: above low); picklescan a dangerous global or an infected file;
modelscan any issue; fickling a ``scan_file`` severity of LIKELY_UNSAFE or worse ("fickling-any":
any severity other than LIKELY_SAFE, which includes SUSPICIOUS for every file it cannot parse).

Run::

    OMP_NUM_THREADS=1 python benchmarks/scan_vs_peers.py --large-mb 128
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aisec.records import Severity
from aisec.supplychain.scan import scan_file

# The corpus generator lives with the scanner's tests, not in the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "supplychain" / "scan"))
from corpus import Sample, write_corpus

Verdict = Callable[[Path, bool], bool]


def _aisec(path: Path, benign: bool) -> bool:
    top = scan_file(path).max_severity
    if top is None:
        return False
    return top > Severity.LOW if benign else top >= Severity.HIGH


def _picklescan() -> Verdict | None:
    try:
        from picklescan.scanner import scan_file_path
    except ImportError:
        return None

    def verdict(path: Path, benign: bool) -> bool:
        res = scan_file_path(str(path))
        return res.issues_count > 0 or res.infected_files > 0

    return verdict


def _modelscan() -> Verdict | None:
    try:
        from modelscan.modelscan import ModelScan
    except ImportError:
        return None
    logging.getLogger("modelscan").setLevel(logging.CRITICAL)

    def verdict(path: Path, benign: bool) -> bool:
        res = ModelScan().scan(path)
        return bool(res.get("issues"))

    return verdict


def _fickling(strict: bool = False) -> Verdict | None:
    try:
        from fickling import scan_file as fscan
        from fickling.analysis import Severity as FSeverity
    except ImportError:
        return None

    def verdict(path: Path, benign: bool) -> bool:
        res = fscan(str(path), graceful=True)
        if strict:
            return res.severity != FSeverity.LIKELY_SAFE
        return res.severity.value >= FSeverity.LIKELY_UNSAFE.value

    return verdict


def _quiet(fn: Verdict, path: Path, benign: bool) -> tuple[bool, bool]:
    """Run a verdict with its output silenced; returns (flagged, errored)."""
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return fn(path, benign), False
    except Exception:
        return False, True


def _throughput(fn: Verdict, files: list[Path], repeat: int) -> float:
    total = sum(f.stat().st_size for f in files) / 1e6
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for f in files:
            _quiet(fn, f, True)
        best = min(best, time.perf_counter() - start)
    return total / best


def main() -> int:
    """Build the corpus, run every tool, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large-mb", type=int, default=128, help="size of each large checkpoint")
    ap.add_argument("--repeat", type=int, default=3, help="timing repetitions (best kept)")
    ap.add_argument("--details", action="store_true", help="print every sample's verdicts")
    args = ap.parse_args()

    tools: dict[str, Verdict] = {"aisec": _aisec}
    for name, make in (
        ("picklescan", _picklescan),
        ("modelscan", _modelscan),
        ("fickling", _fickling),
        ("fickling-any", lambda: _fickling(True)),
    ):
        fn = make()
        if fn is None:
            print(f"{name}: not installed (pip install -e .[bench]); skipped")
        else:
            tools[name] = fn

    with tempfile.TemporaryDirectory(prefix="aisec-scan-bench-") as tmp:
        root = Path(tmp)
        marker = root / "marker"
        samples: list[Sample] = write_corpus(root / "corpus", marker, large_mb=args.large_mb)
        hostile = [s for s in samples if s.malicious]
        benign = [s for s in samples if not s.malicious and not s.large]
        large = [root / "corpus" / s.name for s in samples if s.large]
        categories = sorted({s.category for s in hostile})

        flagged: dict[str, dict[str, bool]] = {t: {} for t in tools}
        errors: dict[str, int] = dict.fromkeys(tools, 0)
        for tool, fn in tools.items():
            for s in hostile + benign:
                hit, err = _quiet(fn, root / "corpus" / s.name, not s.malicious)
                flagged[tool][s.name] = hit
                errors[tool] += err
        speed = {tool: _throughput(fn, large, args.repeat) for tool, fn in tools.items()}
        per_file = {
            tool: {f.name: _throughput(fn, [f], args.repeat) for f in large}
            for tool, fn in tools.items()
        }
        executed = marker.exists()

    print(
        f"\ncorpus: {len(hostile)} hostile samples ({len(hostile)} techniques), "
        f"{len(benign)} benign files, {len(large)} large benign checkpoints of "
        f"{args.large_mb} MiB (torch zip, safetensors, legacy torch, pickled numpy)\n"
    )
    head = f"{'tool':<12} {'detected':>9} " + " ".join(f"{c[:14]:>14}" for c in categories)
    head += f" {'FP rate':>8} {'errors':>6} {'MB/s':>8} {'vs aisec':>8}"
    print(head)
    print("-" * len(head))
    union: set[str] = set()
    for tool in tools:
        hits = [s.name for s in hostile if flagged[tool][s.name]]
        if tool not in ("aisec", "fickling-any"):
            union |= set(hits)
        det = len(hits) / len(hostile)
        per_cat = []
        for c in categories:
            group = [s for s in hostile if s.category == c]
            n_hit = sum(flagged[tool][s.name] for s in group)
            per_cat.append(f"{n_hit:>3}/{len(group):<3} {n_hit / len(group):>5.0%}")
        fp = sum(flagged[tool][s.name] for s in benign) / len(benign)
        ratio = speed[tool] / speed["aisec"]
        print(
            f"{tool:<12} {det:>9.1%} "
            + " ".join(f"{x:>14}" for x in per_cat)
            + f" {fp:>8.1%} {errors[tool]:>6} {speed[tool]:>8.1f} {ratio:>7.2f}x"
        )
    print("\nthroughput per large checkpoint (MB/s; aisec and peers read only what they parse):")
    print(f"{'file':<26}" + "".join(f"{t:>14}" for t in tools))
    for f in large:
        print(f"{f.name:<26}" + "".join(f"{per_file[t][f.name]:>14.0f}" for t in tools))
    missed_by_aisec = sorted(n for n in union if not flagged["aisec"][n])
    only_aisec = [s.name for s in hostile if flagged["aisec"][s.name] and s.name not in union]
    print(f"\nflagged by a peer but not by aisec: {missed_by_aisec or 'none'}")
    print(f"flagged by aisec only: {len(only_aisec)} samples")
    print(f"payload executed during the benchmark: {'YES' if executed else 'no'}")
    if args.details:
        print("\n" + f"{'sample':<34}" + "".join(f"{t:>11}" for t in tools))
        for s in hostile + benign:
            marks = "".join(f"{'X' if flagged[t][s.name] else '.':>11}" for t in tools)
            print(f"{s.name[:33]:<34}{marks}  {'benign' if not s.malicious else s.category}")
    return 1 if executed or missed_by_aisec else 0


if __name__ == "__main__":
    sys.exit(main())
