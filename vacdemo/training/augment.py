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


def centre_distances(images: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 digits → (N, 28, 28) uint8: each pixel's distance to the digit's centre line (its
    skeleton: skimage's skeletonize of the ink above half intensity), in quarter pixels, capped at 63 px.
    Computed once per training run (about 10 s for MNIST); random_redraw draws a new pen along it."""
    import numpy as np
    from scipy import ndimage
    from skimage.morphology import skeletonize
    out = np.empty(images.shape, dtype=np.uint8)
    for i, img in enumerate(images.numpy() if isinstance(images, torch.Tensor) else images):
        line = skeletonize(img > 127)
        d = ndimage.distance_transform_edt(~line) if line.any() else np.full(img.shape, 63.0)
        out[i] = np.minimum(d * 4, 255).round()
    return torch.from_numpy(out)


def random_redraw(x: torch.Tensor, d: torch.Tensor, gen: torch.Generator, p: float,
                  width: tuple[float, float] = (1.0, 5.0)) -> torch.Tensor:
    """A share p of the digits drawn again along their centre line d (B, 1, 28, 28, in px) with a round pen of a
    random width (px): a finger's stroke or a fine pen instead of the writer's own, its rim antialiased."""
    u = torch.rand(x.shape[0], 2, generator=gen).to(x.device).view(-1, 2, 1, 1)
    r = (width[0] + u[:, :1] * (width[1] - width[0])) / 2
    pen = (r + 0.5 - d.to(x.dtype)).clamp(0, 1)
    return torch.where(u[:, 1:] < p, pen, x)


def random_elastic(x: torch.Tensor, gen: torch.Generator, alpha: float, sigma: float = 4.0) -> torch.Tensor:
    """Elastic distortion (Simard, Steinkraus & Platt 2003): each image warped by its own random displacement
    field, uniform in [−1, 1] per pixel, smoothed by a Gaussian of σ px and scaled to α px."""
    b, _, h, w = x.shape
    field = torch.rand(b, 2, h, w, generator=gen).to(x.device) * 2 - 1
    k = 2 * math.ceil(3 * sigma) + 1
    field = TF.gaussian_blur(field, [k, k], [sigma, sigma])
    field = field / field.flatten(1).abs().amax(1).clamp_min(1e-8).view(-1, 1, 1, 1) * alpha  # px, at most α
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=x.device), torch.linspace(-1, 1, w, device=x.device),
                            indexing="ij")
    grid = torch.stack([xs + field[:, 0] * 2 / w, ys + field[:, 1] * 2 / h], -1)  # (B, H, W, 2), px → [-1, 1]
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=True)


def augment(x: torch.Tensor, gen: torch.Generator, dataset: str, *, d: torch.Tensor | None = None,
            redraw: float = 0.0, elastic: float = 0.0) -> torch.Tensor:
    """x (B, 1, 28, 28) in [0, 1] → a new batch of the same shape and range, each image transformed on its own.
    Digits: the full set (hands differ in slant, thickness and size); with redraw > 0, that share first drawn
    again with a new pen along its centre line d (centre_distances, in px); with elastic > 0 (α, px), each warped
    elastically. Garments: a mirror for half of them, milder geometry, no thickness (a garment's outline is not
    a pen stroke)."""
    if dataset == "mnist":
        if redraw > 0:
            if d is None:
                raise SettingsError("redraw needs the centre-line distances of the batch (centre_distances)")
            x = random_redraw(x, d, gen, redraw)
        if elastic > 0:
            x = random_elastic(x, gen, elastic)
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
