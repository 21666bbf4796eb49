"""Static model-file scanner: pickle, PyTorch, joblib, NumPy, Keras, ONNX, safetensors, GGUF
and archives, analysed by content without ever executing the file.

>>> from aisec.supplychain.scan import scan_paths
>>> report = scan_paths(["model.pt"])  # doctest: +SKIP
>>> report.max_severity  # doctest: +SKIP
"""

from aisec.supplychain.scan.api import FileReport, ScanReport, scan_bytes, scan_file, scan_paths
from aisec.supplychain.scan.limits import DEFAULT_LIMITS, ScanLimits
from aisec.supplychain.scan.rules import RULES, Rule, rules_help

__all__ = [
    "DEFAULT_LIMITS",
    "RULES",
    "FileReport",
    "Rule",
    "ScanLimits",
    "ScanReport",
    "rules_help",
    "scan_bytes",
    "scan_file",
    "scan_paths",
]
