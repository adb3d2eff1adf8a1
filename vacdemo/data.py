"""MNIST and Fashion-MNIST through torchvision, held in memory as uint8 tensors."""
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision import datasets

from .datasets import CLASS_NAMES, dataset  # noqa: F401  CLASS_NAMES: the old home
from .errors import VacdemoError

class DataNotFoundError(VacdemoError, FileNotFoundError):
    """The data root lacks the data set's files."""


@dataclass
class Split:
    """A whole split in memory: images (N, 28, 28) uint8, labels (N,) int64."""
    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, idx) -> tuple[torch.Tensor, torch.Tensor]:
        """Images as floats in [0, 1], shape (B, 1, 28, 28), and their labels."""
        return self.images[idx].unsqueeze(1).float().div_(255), self.labels[idx]


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $VACDEMO_DATA, else ./data."""
    return Path(data_dir or os.environ.get("VACDEMO_DATA") or "data")


def load_split(name: str, train: bool, data_dir=None, download: bool = False) -> Split:
    cls = getattr(datasets, dataset(name).folder)  # torchvision names the class as it names the folder
    root = data_root(data_dir)
    try:
        ds = cls(root=str(root), train=train, download=download)
    except RuntimeError as e:  # torchvision: "Dataset not found. You can use download=True ..."
        if "not found" not in str(e).lower():
            raise
        raise DataNotFoundError(
            f"{cls.__name__} not found under {root.resolve()}: put the raw files in "
            f"{root / cls.__name__ / 'raw'}, point --data-dir or VACDEMO_DATA at a folder that has them, "
            f"or add --download to let torchvision fetch them") from None
    return Split(ds.data, ds.targets)
