"""Arrays → PNG bytes for display: nearest-neighbour upscaling, so every pixel the model sees stays crisp."""
import io

import numpy as np
from PIL import Image

# A diverging map (ColorBrewer RdBu, reversed): blue for negative, white for 0, red for positive.
RDBU = np.array([[5, 48, 97], [33, 102, 172], [67, 147, 195], [146, 197, 222], [209, 229, 240], [247, 247, 247],
                 [253, 219, 199], [244, 165, 130], [214, 96, 77], [178, 24, 43], [103, 0, 31]], dtype=np.float64)


def encode_png(rgb: np.ndarray, scale: int) -> bytes:
    """(H, W) or (H, W, 3) uint8 → PNG bytes, each pixel a scale×scale block."""
    img = Image.fromarray(rgb).resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def gray_png(img: np.ndarray, scale: int = 6) -> bytes:
    """(H, W) intensities in [0, 1] → gray PNG."""
    return encode_png((np.clip(img, 0, 1) * 255).round().astype(np.uint8), scale)


def diverging(v: np.ndarray, bound: float) -> np.ndarray:
    """(H, W) values in [−bound, bound] → (H, W, 3) uint8 RdBu colours (0 is white)."""
    t = (np.clip(v / bound, -1, 1) + 1) / 2 * (len(RDBU) - 1) if bound > 0 else np.full(v.shape, 5.0)
    lo = np.floor(t).astype(int).clip(0, len(RDBU) - 2)
    w = (t - lo)[..., None]
    return ((1 - w) * RDBU[lo] + w * RDBU[lo + 1]).round().astype(np.uint8)


def diverging_png(v: np.ndarray, bound: float, scale: int = 6) -> bytes:
    return encode_png(diverging(v, bound), scale)
