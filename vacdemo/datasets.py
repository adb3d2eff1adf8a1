"""Every fact about a data set, in one place: its key, its label, its class names, its ε ranges, its folder.

Torch-free (the app's views read it): loading the pictures is vacdemo.data's job.
"""
from dataclasses import dataclass

from .errors import SettingsError


@dataclass(frozen=True)
class DataSet:
    key: str  # "mnist" or "fmnist": the name on the command line, in URLs and in checkpoints
    label: str  # what the page calls it
    thing: str  # one picture of it, in plain words ("digit")
    folder: str  # torchvision's class and folder name under the data root
    classes: tuple[str, ...]  # class names, by label index
    eps_max: float  # ℓ∞ range of the paper's figures and tables (§5), on [0, 1] pixels
    # ℓ2 range of the app's ε grid: the range ℓ2 robustness is commonly reported over. An ℓ∞ ball of radius ε
    # sits inside the ℓ2 ball of radius √784·ε = 28ε (8.4 for MNIST's 0.3), so these balls are much smaller.
    eps_max_l2: float

    def eps_range(self, norm: str) -> float:
        """The largest ε the app offers for a norm ("inf" or "2")."""
        if norm not in ("inf", "2"):
            raise SettingsError(f"norm must be 'inf' or '2', not {norm!r}")
        return self.eps_max if norm == "inf" else self.eps_max_l2


DATASETS = {
    "mnist": DataSet("mnist", "Digits (MNIST)", "digit", "MNIST", tuple(str(d) for d in range(10)),
                     eps_max=0.3, eps_max_l2=3.0),
    "fmnist": DataSet("fmnist", "Garments (Fashion-MNIST)", "garment", "FashionMNIST",
                      ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                       "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"), eps_max=0.1, eps_max_l2=1.0),
}
CLASS_NAMES = {k: list(d.classes) for k, d in DATASETS.items()}
EPS_MAX = {k: d.eps_max for k, d in DATASETS.items()}  # ℓ∞, the paper's range per data set


def check_dataset(name: str) -> str:
    if name not in DATASETS:
        raise SettingsError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    return name


def dataset(name: str) -> DataSet:
    return DATASETS[check_dataset(name)]
