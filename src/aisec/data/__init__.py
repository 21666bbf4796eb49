"""Data sets: loading ``.npz`` and CSV files, validation, and built-in data sets."""

from aisec.data.builtin import available_datasets, load_builtin, register_dataset
from aisec.data.dataset import Dataset
from aisec.data.loaders import load_csv, load_data, load_npz
from aisec.data.splits import Splits
from aisec.data.text import Prompt, TextDataset

__all__ = [
    "Dataset",
    "Prompt",
    "Splits",
    "TextDataset",
    "available_datasets",
    "load_builtin",
    "load_csv",
    "load_data",
    "load_npz",
    "register_dataset",
]
