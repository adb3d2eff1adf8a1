"""A map of the latent space: test-set codes z = μ(x) projected to 2-D, with their reconstruction errors.

The projection is Fisher's linear discriminant (LDA), the linear 2-D view that best separates the classes,
so a student sees an adversarial input's code walk from its class's cloud into another's. Being linear,
it projects any new code exactly as it projected the test set.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from ..data import Split
from ..errors import AssetError
from ..models.vac import BetaVAC, reconstruction_error

FILE = "atlas.safetensors"


@dataclass
class Atlas:
    mean: torch.Tensor  # (d,) the centre of the test codes
    basis: torch.Tensor  # (d, 2) the LDA directions
    codes: torch.Tensor  # (N, 2) projected test codes
    labels: torch.Tensor  # (N,)
    re: torch.Tensor  # (N,) ℓ2 reconstruction error of each clean test image

    def project(self, z) -> np.ndarray:
        """Codes (B, d), a tensor or an array → (B, 2) in the map's coordinates."""
        return ((torch.as_tensor(z).float() - self.mean) @ self.basis).numpy()

    def re_histogram(self, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
        """The clean test images' reconstruction errors binned: counts (bins,), edges (bins + 1,)."""
        return np.histogram(self.re.numpy(), bins=bins, range=(0, float(self.re.max())))


@torch.no_grad()
def build_atlas(model: BetaVAC, test: Split, n: int = 2000, batch_size: int = 500) -> Atlas:
    """The map from the first n test images."""
    mus, res = [], []
    for i in range(0, min(n, len(test)), batch_size):
        x, _ = test.batch(slice(i, min(i + batch_size, n)))
        mus.append(model.encode(x)[0])
        res.append(reconstruction_error(model, x))
    mu, y = torch.cat(mus).double(), test.labels[:n]
    lda = LinearDiscriminantAnalysis(n_components=2, solver="svd").fit(mu.numpy(), y.numpy())
    mean = torch.from_numpy(lda.xbar_).float()
    basis = torch.from_numpy(lda.scalings_[:, :2]).float()  # lda.transform(z) == (z − xbar) @ scalings[:, :2]
    return Atlas(mean, basis, (mu.float() - mean) @ basis, y.clone(), torch.cat(res))


def save_atlas(a: Atlas, folder: Path) -> Path:
    path = Path(folder) / FILE
    save_file({k: getattr(a, k).contiguous() for k in ("mean", "basis", "codes", "labels", "re")}, str(path))
    return path


def load_atlas(folder: Path) -> Atlas:
    path = Path(folder) / FILE
    try:
        t = load_file(str(path))
        a = Atlas(t["mean"], t["basis"], t["codes"], t["labels"], t["re"])
    except FileNotFoundError:
        raise AssetError(f"{path}: missing; `python -m vacdemo assets` builds it") from None
    except (SafetensorError, OSError, KeyError) as e:
        raise AssetError(f"{path}: not an atlas file ({type(e).__name__}: {e}); "
                         "`python -m vacdemo assets` rebuilds it") from None
    if a.basis.shape != (len(a.mean), 2) or a.codes.shape != (len(a.labels), 2):
        raise AssetError(f"{path}: shapes do not fit: basis {tuple(a.basis.shape)}, codes {tuple(a.codes.shape)}")
    return a
