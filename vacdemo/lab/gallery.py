"""A few real test images per class, shipped beside each checkpoint so the app needs no data download."""
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..data import Split
from ..errors import AssetError

FILE = "gallery.safetensors"


@dataclass
class Gallery:
    """images (N, 28, 28) uint8, labels (N,), indices (N,): each image's position in the test split."""
    images: torch.Tensor
    labels: torch.Tensor
    indices: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, i: int) -> torch.Tensor:
        """The i-th image as the model's input, (1, 28, 28) float in [0, 1]."""
        return self.images[i][None].float() / 255

    def of_class(self, y: int) -> list[int]:
        """Positions (in this gallery) of the images of class y, in test-set order."""
        return (self.labels == y).nonzero().flatten().tolist()


def build_gallery(test: Split, per_class: int = 8) -> Gallery:
    """The first `per_class` test images of each class, in test-set order: no picking of easy ones."""
    idx = torch.cat([(test.labels == y).nonzero().flatten()[:per_class] for y in range(10)])
    return Gallery(test.images[idx].clone(), test.labels[idx].clone(), idx)


def save_gallery(g: Gallery, folder: Path) -> Path:
    path = Path(folder) / FILE
    save_file({"images": g.images.contiguous(), "labels": g.labels, "indices": g.indices}, str(path))
    return path


def load_gallery(folder: Path) -> Gallery:
    path = Path(folder) / FILE
    try:
        t = load_file(str(path))
        g = Gallery(t["images"], t["labels"], t["indices"])
    except FileNotFoundError:
        raise AssetError(f"{path}: missing; `python -m vacdemo assets` builds it") from None
    except (SafetensorError, OSError, KeyError) as e:
        raise AssetError(f"{path}: not a gallery file ({type(e).__name__}: {e}); "
                         "`python -m vacdemo assets` rebuilds it") from None
    if g.images.dtype != torch.uint8 or g.images.shape[1:] != (28, 28) or len(g.labels) != len(g.images):
        raise AssetError(f"{path}: images must be (N, 28, 28) uint8 with N labels")
    return g
