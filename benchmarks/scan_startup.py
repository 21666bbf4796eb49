"""Start-up and folder throughput of ``aisec scan`` against ``picklescan -p`` and ``modelscan -p``.

Scanners run once per file in pre-commit hooks and CI steps, so a scan's wall time, start-up
included, is the user's latency. This script times whole processes, as a hook runs them:

(a) one small file: a benign pickle of a few dozen bytes;
(b) one folder of 1,000 small files: benign pickles, safetensors files and one hostile pickle
    (``os.system`` called by a REDUCE opcode, with the harmless argument ``true``; the bytes are
    written by hand and nothing here ever unpickles them).

Each figure is the best of ``--repeat`` runs (default 5), taken round-robin across the tools so
that load from other processes hits every tool alike, after one untimed warm-up run of each so
that every tool runs from cached bytecode, as an installed tool does (``PYTHONDONTWRITEBYTECODE``
is dropped from the children's environment for that reason). aisec runs as
``python -m aisec.cli scan`` with this script's interpreter, with its default table and with
``--format json``, so the aisec it measures is the one this interpreter imports (set
``PYTHONPATH=src`` to measure a checkout). The peers are ``--picklescan`` and ``--modelscan``
when given, else the commands next to this interpreter, else those on ``PATH``; a missing peer
is printed as "not installed: skipped".

Run (aisec from the checkout, the peers from ``.venv-bench``)::

    PYTHONPATH=src .venv/bin/python benchmarks/scan_startup.py --repeat 5 \
        --picklescan .venv-bench/bin/picklescan --modelscan .venv-bench/bin/modelscan

or ``.venv-bench/bin/python benchmarks/scan_startup.py`` (``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# ``os.system("true")`` by hand: PROTO 2, GLOBAL "os system", the argument, TUPLE1, REDUCE, STOP.
HOSTILE_PICKLE = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."

PEERS = ("picklescan", "modelscan")


def safetensors_bytes(i: int) -> bytes:
    """A valid safetensors file holding one small float32 tensor (written without numpy)."""
    values = [float(i % 7), 0.5, -1.0, 2.0]
    data = struct.pack("<4f", *values)
    header = {
        "__metadata__": {"format": "pt", "index": str(i)},
        "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, len(data)]},
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def benign_pickle(i: int) -> bytes:
    """A small pickle of plain data, as a config or a tokenizer table is stored."""
    return pickle.dumps({"name": f"layer{i}", "shape": [i % 5 + 1, 3], "scale": 0.5 * i}, 4)


def write_folder(folder: Path, n: int) -> dict[str, int]:
    """``n`` small files in ``folder``: 60% benign pickles, the rest safetensors, one hostile."""
    folder.mkdir(parents=True, exist_ok=True)
    n_pickles = (n * 6) // 10
    counts = {"benign pickles": 0, "safetensors files": 0, "hostile pickle": 1}
    (folder / "payload.pkl").write_bytes(HOSTILE_PICKLE)
    for i in range(n - 1):
        if i < n_pickles:
            (folder / f"config_{i:04d}.pkl").write_bytes(benign_pickle(i))
            counts["benign pickles"] += 1
        else:
            (folder / f"weights_{i:04d}.safetensors").write_bytes(safetensors_bytes(i))
            counts["safetensors files"] += 1
    return counts


def find_peer(name: str, given: str | None) -> str | None:
    """The peer's command: as given, next to this interpreter, or on PATH."""
    if given:
        return given if Path(given).exists() or shutil.which(given) else None
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def peer_version(command: str, dist: str) -> str:
    """The peer's version, read by the interpreter of its entry-point script."""
    try:
        first = Path(command).read_text(encoding="utf-8", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return "?"
    python = first[2:].strip() if first.startswith("#!") else sys.executable
    code = f"from importlib.metadata import version; print(version({dist!r}))"
    try:
        r = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "?"
    return r.stdout.strip() or "?"


def timed(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and exit code of one run of ``cmd`` (output discarded)."""
    start = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start, r.returncode


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="Runs per figure (best is kept).")
    parser.add_argument("--files", type=int, default=1000, help="Files in the folder case.")
    parser.add_argument("--picklescan", default=None, help="picklescan command (default: found).")
    parser.add_argument("--modelscan", default=None, help="modelscan command (default: found).")
    args = parser.parse_args(argv)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    aisec = [sys.executable, "-m", "aisec.cli", "scan"]
    tools: dict[str, list[str]] = {"aisec": aisec, "aisec-json": [*aisec, "--format", "json"]}
    labels = {"aisec": "aisec (table)", "aisec-json": "aisec --format json"}
    for name in PEERS:
        command = find_peer(name, getattr(args, name))
        if command is None:
            print(f"{name}: not installed: skipped")
            continue
        tools[name] = [command, "-p"]
        labels[name] = f"{name} {peer_version(command, name)}"

    with tempfile.TemporaryDirectory(prefix="aisec-startup-") as tmp:
        root = Path(tmp)
        small = root / "small.pkl"
        small.write_bytes(benign_pickle(0))
        folder = root / "folder"
        counts = write_folder(folder, args.files)
        cases = {
            f"one small file ({small.stat().st_size} bytes)": small,
            f"folder of {args.files:,} small files": folder,
        }
        print(
            f"{os.cpu_count()} CPU cores; Python {sys.version.split()[0]}; "
            f"best of {args.repeat}; folder: " + ", ".join(f"{v} {k}" for k, v in counts.items())
        )
        best: dict[tuple[str, str], float] = {}
        codes: dict[tuple[str, str], int] = {}
        for case, path in cases.items():
            for cmd in tools.values():  # warm-up: bytecode caches, page cache
                timed([*cmd, str(path)], env)
            for _ in range(args.repeat):
                for tool, cmd in tools.items():
                    seconds, code = timed([*cmd, str(path)], env)
                    key = (case, tool)
                    best[key] = min(best.get(key, float("inf")), seconds)
                    codes[key] = code

    print()
    print("| case | tool | wall seconds | aisec/peer (table) | aisec/peer (json) | exit code |")
    print("|---|---|---:|---:|---:|---:|")
    for case in cases:
        table, as_json = best[(case, "aisec")], best[(case, "aisec-json")]
        for tool in tools:
            seconds = best[(case, tool)]
            ours = tool.startswith("aisec")
            ratios = " | " if ours else f"{table / seconds:.2f} | {as_json / seconds:.2f}"
            name = f"**{labels[tool]}**" if ours else labels[tool]
            print(f"| {case} | {name} | {seconds:.3f} | {ratios} | {codes[(case, tool)]} |")
        for name in PEERS:
            if name not in tools:
                print(f"| {case} | {name} | not installed: skipped | | | |")


if __name__ == "__main__":
    main()
