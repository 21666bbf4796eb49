"""Bounds that keep the scanner's time and memory finite on hostile input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScanLimits:
    """Upper bounds for one scan; exceeding one is a finding, never a crash."""

    max_pickle_ops: int = 5_000_000
    """Opcodes executed per pickle stream."""
    max_stack: int = 1_000_000
    """Values on the pickle stack plus memo entries."""
    max_pickles_per_file: int = 64
    """Pickle streams followed in one file (legacy torch files hold five)."""
    max_depth: int = 4
    """Nesting of archives and nested pickles."""
    max_members: int = 100_000
    """Members analysed per archive."""
    max_member_bytes: int = 1 << 30
    """Bytes decompressed from one archive member or compressed stream."""
    max_total_bytes: int = 4 << 30
    """Bytes decompressed in all for one top-level file."""
    max_ratio: int = 200
    """Compression ratio above which a large member counts as a bomb."""
    bomb_min_bytes: int = 64 << 20
    """Members smaller than this are never called bombs on ratio alone."""
    max_header_bytes: int = 100 << 20
    """Largest safetensors / npy / GGUF metadata header analysed."""
    max_text_bytes: int = 16 << 20
    """Largest JSON configuration parsed (Keras, ONNX metadata)."""


DEFAULT_LIMITS = ScanLimits()
