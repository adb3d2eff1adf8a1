"""Any picture (a photo, a scan, a canvas drawing) → a 28×28 input prepared the way the data sets were.

MNIST (LeCun et al.): white ink on black, the digit fitted into a 20×20 box (aspect kept), then placed in
28×28 with its centre of mass at the centre. Fashion-MNIST (Xiao et al.): the garment trimmed, its longest
side fitted to 28, centred, light on black.
"""
import io

import numpy as np
import torch
from PIL import Image, ImageOps

MAX_BYTES = 5 * 1024 * 1024  # uploads larger than this are refused before decoding
MAX_PIXELS = 25_000_000  # width × height, checked from the header before decoding (a 30000² bomb is 900 M)
WORK_SIDE = 1024  # larger images are shrunk to this before any float math: the result is 28×28 anyway
INK = 0.1  # a pixel is ink when its intensity above the background is at least this (of 1)
BOX = {"mnist": 20, "fmnist": 28}  # the longest side of the object after resizing


class ImageError(ValueError):
    """The input is not an image we can prepare; the message says what was wrong and what to do."""


def decode(data: bytes) -> np.ndarray:
    """Bytes of a PNG/JPEG/GIF/… → (H, W) float gray in [0, 1], EXIF orientation applied, alpha composited."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(f"expected the file's bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise ImageError("the file is empty (0 bytes): choose a PNG or JPEG image")
    if len(data) > MAX_BYTES:
        raise ImageError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB: "
                         "use a smaller image")
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError as e:
        raise ImageError(f"the image is too large to decode safely ({e}): use one under "
                         f"{MAX_PIXELS // 10**6} megapixels") from None
    except Exception:
        raise ImageError("this file is not an image we can read: upload a PNG or JPEG") from None
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


def ink(g: np.ndarray) -> np.ndarray:
    """Gray (H, W) → ink intensity (H, W) in [0, 1] on a 0 background; light backgrounds are inverted."""
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    back = float(np.median(border))
    a = 1 - g if back > 0.5 else g
    back = min(back, 1 - back)
    return np.clip((a - back) / max(1 - back, 1e-6), 0, 1)


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


def prepare(g: np.ndarray, dataset: str) -> torch.Tensor:
    """Gray (H, W) in [0, 1] → the model's input (1, 28, 28) in [0, 1], as the data set was made."""
    if dataset not in BOX:
        raise ValueError(f"dataset must be one of {sorted(BOX)}, got {dataset!r}")
    a = ink(g)
    rows, cols = np.nonzero(a >= INK)
    if len(rows) == 0:
        raise ImageError("the image is blank: nothing stands out from the background. "
                         + ("Draw or upload a digit." if dataset == "mnist" else "Upload a garment."))
    a = a[rows.min():rows.max() + 1, cols.min():cols.max() + 1]  # crop to the ink
    a = np.clip(resize(a, BOX[dataset]), 0, 1)
    a = place(a, centre_of_mass=dataset == "mnist")
    return torch.from_numpy(a).float()[None]


def preprocess_image(data: bytes, dataset: str) -> torch.Tensor:
    """An image file's bytes → (1, 28, 28) float in [0, 1] for `dataset` ("mnist" or "fmnist").

    Raises ImageError (a ValueError) naming the problem: empty, too big, not an image, corrupt, or blank.
    """
    return prepare(decode(data), dataset)
