"""Content-based format detection: magic numbers and structure, never the extension alone."""

from __future__ import annotations

import struct

from aisec.supplychain.scan.pickle_vm import looks_like_pickle

ZIP = "zip"
TAR = "tar"
GZIP = "gzip"
BZIP2 = "bzip2"
XZ = "xz"
LZMA = "lzma"
ZLIB = "zlib"
PICKLE = "pickle"
TORCH_LEGACY = "torch-legacy"
NUMPY = "numpy"
SAFETENSORS = "safetensors"
GGUF = "gguf"
HDF5 = "hdf5"
ONNX = "onnx"
JSON = "json"
SEVENZIP = "7z"
UNKNOWN = "unknown"

#: Extensions that promise a format that cannot run code; a mismatch is rule SCN-092.
SAFE_EXTENSIONS = {
    ".safetensors": SAFETENSORS,
    ".gguf": GGUF,
    ".onnx": ONNX,
    ".npy": NUMPY,
    ".json": JSON,
    ".h5": HDF5,
    ".hdf5": HDF5,
    ".keras": ZIP,
}
PICKLE_EXTENSIONS = (
    ".pkl",
    ".pickle",
    ".pk",
    ".pt",
    ".pth",
    ".bin",
    ".joblib",
    ".sav",
    ".ckpt",
    ".dat",
    ".model",
)

_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def detect(head: bytes, name: str = "") -> str:
    """Format of a file from its first bytes (at least 512 when available) and its name."""
    lower = name.lower()
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return ZIP
    if head.startswith(_TORCH_LEGACY_MAGIC):
        return TORCH_LEGACY
    if head[:6] == b"\x93NUMPY":
        return NUMPY
    if head[:4] == b"GGUF":
        return GGUF
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return HDF5
    if len(head) >= 262 and head[257:262] == b"ustar":
        return TAR
    if head[:2] == b"\x1f\x8b":
        return GZIP
    if head[:3] == b"BZh":
        return BZIP2
    if head[:6] == b"\xfd7zXZ\x00":
        return XZ
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return SEVENZIP
    if looks_like_pickle(head):
        return PICKLE
    if len(head) >= 9 and head[8:9] == b"{":
        (n,) = struct.unpack("<Q", head[:8])
        if n > 1:
            return SAFETENSORS
    if head[:3] == b"\x5d\x00\x00":
        return LZMA
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return ZLIB
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return JSON
    if lower.endswith(".onnx") or _looks_like_onnx(head):
        return ONNX
    if lower.endswith(PICKLE_EXTENSIONS) and head and head[:1] in b"(c]}\x80":
        return PICKLE
    if lower.endswith(".tar") and len(head) >= 512:
        return TAR
    return UNKNOWN


def _looks_like_onnx(head: bytes) -> bool:
    """ModelProto starts with ir_version (field 1, varint) then producer_name or opset."""
    return (
        len(head) >= 4
        and head[0] == 0x08
        and 3 <= head[1] <= 12
        and head[2] in (0x12, 0x1A, 0x22, 0x2A, 0x3A, 0x42)
    )
