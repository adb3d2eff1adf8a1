"""Any picture (a photo, a scan, a canvas drawing) → a 28×28 input prepared the way the data sets were.

MNIST (LeCun et al.): white ink on black, the digit fitted into a 20×20 box (aspect kept), then placed in
28×28 with its centre of mass at the centre. Its strokes are crisp and near-saturated, about 2–3 px wide.
A photo or a scan is not: uneven light, shadows, a paper edge, a faint or thin pen, blur. So a digit's
ink is measured against the local paper (a grey closing: the paper with the strokes removed), specks
and far-away marks are dropped, thin strokes are thickened to MNIST's width before the 20 px fit, and the
result is stretched so that the stroke cores reach 1. Fashion-MNIST (Xiao et al.): the garment trimmed,
its longest side fitted to 28, centred, light on black.
"""
import io

import numpy as np
import torch
from PIL import Image, ImageOps
from scipy import ndimage

from ..errors import SettingsError, VacdemoError

MAX_BYTES = 5 * 1024 * 1024  # uploads larger than this are refused before decoding
MAX_PIXELS = 25_000_000  # width × height, checked from the header before decoding (a 30000² bomb is 900 M)
WORK_SIDE = 1024  # larger images are shrunk to this before any float math: the result is 28×28 anyway
INK = 0.1  # a pixel is ink when its intensity above the background is at least this (of 1)
BOX = {"mnist": 20, "fmnist": 28}  # the longest side of the object after resizing
DIGIT_SIDE = 256  # digits are found on a copy this size at most: strokes stay several pixels wide
STROKE = 2.5  # px: MNIST's strokes at the 20 px fit (2.4 px median at 28×28: scripts/ink_stats.py)


class ImageError(VacdemoError, ValueError):
    """The input is not an image we can prepare; the message says what was wrong and what to do."""


def decode(data: bytes) -> np.ndarray:
    """Bytes of a PNG/JPEG/GIF/… → (H, W) float gray in [0, 1], EXIF orientation applied, alpha composited."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"expected the file's bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ImageError("the file is empty (0 bytes): choose a PNG, JPEG, GIF, BMP or WebP image")
    if len(data) > MAX_BYTES:
        raise ImageError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB: "
                         "use a smaller image")
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError as e:
        raise ImageError(f"the image is too large to decode safely ({e}): use one under "
                         f"{MAX_PIXELS // 10**6} megapixels") from None
    except Exception:
        raise ImageError("this file is not an image we can read: upload a PNG, JPEG, GIF, BMP or WebP image") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise ImageError(f"the image is {w}×{h} pixels; the limit is {MAX_PIXELS // 10**6} megapixels: "
                         "use a smaller image")
    try:
        img.seek(0)  # an animated image: its first frame
        if img.format == "JPEG":
            img.draft(img.mode, (WORK_SIDE, WORK_SIDE))  # decode at a reduced scale: less time and memory
        img = ImageOps.exif_transpose(img)  # a phone photo taken sideways stands upright
        if max(img.size) > WORK_SIDE:
            img = img.convert("RGBA" if "A" in img.mode or "transparency" in img.info else "RGB") \
                if img.mode in ("P", "CMYK") else img
            img.thumbnail((WORK_SIDE, WORK_SIDE))
        return gray(img)
    except MemoryError:
        raise ImageError(f"the image is too large to process ({w}×{h}): use a smaller one") from None
    except Exception as e:
        raise ImageError(f"the image is truncated or corrupt ({type(e).__name__}): try saving it again") from None


def gray(img: Image.Image) -> np.ndarray:
    """A decoded PIL image of any mode → (H, W) float in [0, 1]."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or float gray: keep the full range
        a = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        return np.clip(a / top, 0, 1)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255
        g, alpha = rgba[..., :3] @ np.float32([0.299, 0.587, 0.114]), rgba[..., 3]
        opaque = alpha > 0.5
        # Transparent areas become the colour that contrasts with what is drawn on them.
        back = 1.0 if opaque.any() and g[opaque].mean() < 0.5 else 0.0
        return g * alpha + back * (1 - alpha)
    return np.asarray(img.convert("L"), dtype=np.float32) / 255


def resize(a: np.ndarray, box: int) -> np.ndarray:
    """Scale (H, W) so that its longest side is `box` pixels, aspect kept; PIL antialiases when shrinking."""
    h, w = a.shape
    s = box / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(a.astype(np.float32)).resize(size, Image.Resampling.BILINEAR))


def place(a: np.ndarray, centre_of_mass: bool) -> np.ndarray:
    """Paste (h, w) into 28×28 with its centre of mass (or its box's centre) at the middle."""
    h, w = a.shape
    if centre_of_mass:
        ys, xs = np.indices(a.shape)
        cy, cx = (a * ys).sum() / a.sum(), (a * xs).sum() / a.sum()
    else:
        cy, cx = (h - 1) / 2, (w - 1) / 2
    top, left = int(round(13.5 - cy)), int(round(13.5 - cx))
    top, left = min(max(top, 0), 28 - h), min(max(left, 0), 28 - w)  # never cut the object
    out = np.zeros((28, 28))
    out[top:top + h, left:left + w] = a
    return out


def digit_ink(g: np.ndarray) -> np.ndarray:
    """Gray (H, W) → ink (h, w) in [0, 1] against the local paper, on a copy at most DIGIT_SIDE px long."""
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    dark = 1 - g if np.median(border) < 0.5 else g  # dark ink on light paper, whatever the input's polarity
    if max(dark.shape) > DIGIT_SIDE:
        dark = resize(dark, DIGIT_SIDE)
    rough = (np.median(dark[[0, -1]]) - dark) > 0.2  # clear ink, for the widest stroke's width
    widest = 2 * ndimage.distance_transform_edt(np.pad(rough, 1)).max() if rough.any() else 0.0
    k = max(3, max(dark.shape) // 6, 2 * int(np.ceil(widest)) + 3) | 1  # wider than any stroke, narrower than the light's changes
    paper = ndimage.uniform_filter(ndimage.grey_closing(dark, size=(k, k)), size=k)
    paper = np.maximum(paper, dark)  # the paper is never darker than what lies on it
    return np.clip((paper - dark) / np.maximum(paper, 0.05), 0, 1)


def keep_digit(a: np.ndarray) -> np.ndarray:
    """Ink (h, w) → only the marks that make the digit: a noise floor removed, specks and far-away marks
    dropped (a component counts when its ink is at least a tenth of the largest's and it lies near it)."""
    top = np.percentile(a[a >= INK], 95) if (a >= INK).any() else 0.0
    mask = a >= max(INK, 0.35 * top)
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.zeros_like(a)
    mass = ndimage.sum(a, labels, np.arange(1, n + 1))
    main = int(np.argmax(mass)) + 1
    r, c = np.nonzero(labels == main)
    reach = 0.6 * max(r.max() - r.min(), c.max() - c.min()) + 2  # a 5's bar or a 4's stem lies this close
    keep = np.zeros(n + 1, bool)
    for i, (m, (sr, sc)) in enumerate(zip(mass, ndimage.find_objects(labels)), 1):
        near = sr.start <= r.max() + reach and sr.stop >= r.min() - reach and \
            sc.start <= c.max() + reach and sc.stop >= c.min() - reach
        keep[i] = i == main or (m >= 0.1 * mass[main - 1] and near)
    kept = keep[labels]
    # grow the kept marks by 2 px so their anti-aliased rims (below the mask's level) stay
    return np.where(ndimage.binary_dilation(kept, iterations=2), a, 0.0)


def stroke_width(a: np.ndarray) -> float:
    """Median width of the strokes in px: twice the distance to the edge along the strokes' middles."""
    mask = a >= 0.5 * a.max()
    dist = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]  # padded: a crop's edge is no stroke's edge
    ridge = (dist >= ndimage.maximum_filter(dist, size=3)) & mask
    return float(2 * np.median(dist[ridge])) if ridge.any() else 1.0


def prepare_digit(g: np.ndarray) -> np.ndarray:
    """Gray (H, W) → MNIST-like (28, 28): local ink, the digit's marks, MNIST's stroke width, saturated cores."""
    a = keep_digit(digit_ink(g))
    rows, cols = np.nonzero(a >= INK)
    if len(rows) == 0:
        raise ImageError("the image is blank: nothing stands out from the background. Draw or upload a digit.")
    a = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]  # crop to the digit
    scale = BOX["mnist"] / max(a.shape)
    grow = STROKE / scale - stroke_width(a)  # px of width missing at this size
    if grow >= 1:  # a thin pen: thicken by a grey dilation before shrinking, so the strokes survive as MNIST's
        r = int(round(grow / 2))
        a = ndimage.grey_dilation(np.pad(a, r), footprint=disk(r))
    a = np.clip(resize(a, BOX["mnist"]), 0, 1)
    a = np.clip(a / max(np.percentile(a[a >= INK], 90), 0.3), 0, 1) if (a >= INK).any() else a  # saturate
    return place(a, centre_of_mass=True)


def disk(r: int) -> np.ndarray:
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return yy ** 2 + xx ** 2 <= r * r + r


def garment_ink(g: np.ndarray) -> np.ndarray:
    """Gray (H, W) → the garment (H, W) in [0, 1], light on black. The backdrop is fitted as a plane through the
    border's pixels (a photo's light falls off across it) and subtracted; specks and shadows fainter than a
    quarter of the garment's contrast are dropped."""
    h, w = g.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    edge = np.zeros((h, w), bool)
    edge[[0, -1], :] = edge[:, [0, -1]] = True
    design = np.stack([np.ones(edge.sum()), xx[edge], yy[edge]], 1)
    coef, *_ = np.linalg.lstsq(design, g[edge], rcond=None)
    back = coef[0] + coef[1] * xx + coef[2] * yy  # (H, W)
    a = back - g if np.median(g[edge]) > 0.5 else g - back  # the garment stands out from the backdrop
    a = np.clip(a / max(float(np.percentile(a, 99.5)), 0.05), 0, 1)
    mask = a >= 0.25
    labels, n = ndimage.label(ndimage.binary_closing(mask, iterations=2))
    if n:  # keep the largest piece and anything of at least a tenth of its size (a sandal's straps)
        sizes = ndimage.sum(mask, labels, np.arange(1, n + 1))
        keep = np.isin(labels, 1 + np.nonzero(sizes >= 0.1 * sizes.max())[0])
        a = np.where(ndimage.binary_dilation(keep, iterations=2), a, 0.0)
    return a


def prepare(g: np.ndarray, dataset: str) -> torch.Tensor:
    """Gray (H, W) in [0, 1] → the model's input (1, 28, 28) in [0, 1], as the data set was made."""
    if dataset not in BOX:
        raise SettingsError(f"dataset must be one of {sorted(BOX)}, got {dataset!r}")
    if dataset == "mnist":
        return torch.from_numpy(prepare_digit(g)).float()[None]
    a = garment_ink(g)
    rows, cols = np.nonzero(a >= INK)
    if len(rows) == 0:
        raise ImageError("the image is blank: nothing stands out from the background. Upload a garment.")
    a = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]  # crop to the ink
    a = np.clip(resize(a, BOX[dataset]), 0, 1)
    a = place(a, centre_of_mass=False)
    return torch.from_numpy(a).float()[None]


def preprocess_image(data: bytes, dataset: str) -> torch.Tensor:
    """An image file's bytes → (1, 28, 28) float in [0, 1] for `dataset` ("mnist" or "fmnist").

    Raises ImageError (a ValueError) naming the problem: empty, too big, not an image, corrupt, or blank.
    """
    return prepare(decode(data), dataset)
