"""Training-time augmentation: what differs between MNIST and a scan, a phone photo or a canvas drawing.

Each image gets its own random shift, rotation, scale and shear (italic hands), stroke thickness (dilation or
erosion), blur and contrast, drawn from a seeded generator. torchvision's v2 transforms draw one set of
parameters per call, i.e. per batch; per-image parameters need the affine grid written out here.
Labels are never touched: every transform keeps the class (no flips for digits: a flipped 2 is no 2).
"""
import math

import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from ..errors import SettingsError


def random_affine(x: torch.Tensor, gen: torch.Generator, *, shift: float = 0.12, degrees: float = 12.0,
                  scale: tuple[float, float] = (0.8, 1.1), shear: float = 0.25) -> torch.Tensor:
    """x (B, 1, 28, 28): each image shifted by up to ±shift of its width, rotated, scaled and sheared."""
    b = x.shape[0]
    u = torch.rand(b, 5, generator=gen).to(x.device)  # drawn on the CPU generator, used where x lives
    angle = (u[:, 0] * 2 - 1) * math.radians(degrees)
    s = scale[0] + u[:, 1] * (scale[1] - scale[0])
    k = (u[:, 2] * 2 - 1) * shear
    t = (u[:, 3:] * 2 - 1) * shift * 2  # affine_grid's coordinates span [-1, 1]: a width is 2
    cos, sin = angle.cos() / s, angle.sin() / s
    theta = torch.stack([torch.stack([cos, -sin + k * cos, t[:, 0]], 1),
                         torch.stack([sin, cos + k * sin, t[:, 1]], 1)], 1)  # (B, 2, 3), output → input
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_thickness(x: torch.Tensor, gen: torch.Generator, p_thick: float = 0.3,
                     p_thin: float = 0.15) -> torch.Tensor:
    """A share of the images thickened (3×3 dilation), a smaller one thinned (2×2 erosion: a 3×3 one
    erases MNIST's thinner strokes)."""
    u = torch.rand(x.shape[0], generator=gen).to(x.device).view(-1, 1, 1, 1)
    dilated = F.max_pool2d(x, 3, 1, 1)
    eroded = -F.max_pool2d(F.pad(-x, (0, 1, 0, 1), value=-1.0), 2, 1)  # (B, 1, 28, 28)
    return torch.where(u < p_thick, dilated, torch.where(u > 1 - p_thin, eroded, x))


def random_blur(x: torch.Tensor, gen: torch.Generator, p: float = 0.3) -> torch.Tensor:
    """A share p of the images blurred with a Gaussian of σ up to 1 px (a soft scan or a low-resolution photo)."""
    sigma = 0.4 + 0.6 * torch.rand(1, generator=gen).item()
    blurred = TF.gaussian_blur(x, [5, 5], [sigma, sigma])
    return torch.where(torch.rand(x.shape[0], generator=gen).to(x.device).view(-1, 1, 1, 1) < p, blurred, x)


def random_contrast(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Ink intensity from 0.8× to saturated (1.3×, clipped), and a gamma in [0.8, 1.25]."""
    u = torch.rand(x.shape[0], 2, generator=gen).to(x.device).view(-1, 2, 1, 1)
    gain = 0.8 + 0.5 * u[:, :1]
    gamma = 0.8 + 0.45 * u[:, 1:]
    return (x.clamp(0, 1).pow(gamma) * gain).clamp(0, 1)


def augment(x: torch.Tensor, gen: torch.Generator, dataset: str) -> torch.Tensor:
    """x (B, 1, 28, 28) in [0, 1] → a new batch of the same shape and range, each image transformed on its own.
    Digits: the full set (hands differ in slant, thickness and size). Garments: a mirror for half of them,
    milder geometry, no thickness (a garment's outline is not a pen stroke)."""
    if dataset == "mnist":
        x = random_affine(x, gen)
        x = random_thickness(x, gen)
    elif dataset == "fmnist":
        mirror = torch.rand(x.shape[0], generator=gen).to(x.device).view(-1, 1, 1, 1) < 0.5
        x = torch.where(mirror, x.flip(-1), x)
        x = random_affine(x, gen, shift=0.06, degrees=6.0, scale=(0.9, 1.05), shear=0.08)
    else:
        raise SettingsError(f"no augmentation for dataset {dataset!r}")
    x = random_blur(x, gen, p=0.3 if dataset == "mnist" else 0.15)
    return random_contrast(x, gen)
