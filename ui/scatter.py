"""The latent map's background: thousands of test codes drawn once per data set into a PNG (PIL), so a slider
move only redraws the path over it (ui/svg.latent_map)."""
import io

import numpy as np
from PIL import Image, ImageDraw

from .svg import CLASS_COLOURS, CLASS_SHAPES, POLYGONS


def bounds(codes: np.ndarray, path: np.ndarray | None = None, pad: float = 0.05) -> tuple[float, float, float, float]:
    pts = codes if path is None else np.concatenate([codes, path])
    lo, hi = pts.min(0), pts.max(0)
    span = (hi - lo).max() * (1 + 2 * pad)
    mid = (lo + hi) / 2
    return mid[0] - span / 2, mid[1] - span / 2, mid[0] + span / 2, mid[1] + span / 2


def to_pixels(box: tuple[float, float, float, float], size: int):
    """Map coordinates (N, 2) → pixels (N, 2) in a size × size picture, y upward as on a chart."""
    x0, y0, x1, y1 = box
    return lambda p: np.stack([(p[:, 0] - x0) / (x1 - x0) * size, (1 - (p[:, 1] - y0) / (y1 - y0)) * size], 1)


def scatter_png(codes: np.ndarray, labels: np.ndarray, box, size: int, r: float = 2.6) -> bytes:
    """Each code as its class's colour and shape, on white."""
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    px = to_pixels(box, size)(codes)
    for (x, y), c in zip(px, labels):
        colour, kind = CLASS_COLOURS[int(c)], CLASS_SHAPES[int(c)]
        if kind == "circle":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        elif kind == "square":
            draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.polygon([(x + a * r, y + b * r) for a, b in POLYGONS[kind]], fill=colour)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()
