"""The lab's downloads carry a marker (the data set, the model, the attack, ε, the classes), and an upload that
carries one is used pixel for pixel: preparing it like a photo (re-centring, thickening) would wipe the attack.

PNG: a text chunk "vacdemo" holding the marker as JSON, the 28×28 picture at 1 pixel per pixel (8-bit, so rounded
to 1/255). .npy: a structured array (the exact float32 pixels and the marker's fields), read with
allow_pickle=False: loading it never runs code. An unmarked upload is prepared as a photo (preprocess_image),
unless the user asks for its pixels as they are (a 28×28 picture already made like the data set).
"""
import io
import json
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..datasets import DATASETS
from .marker import FIELDS, KEY
from .preprocess import MAX_BYTES, ImageError, decode, preprocess_image

NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True)
class Picture:
    x: np.ndarray  # (1, 28, 28) float32 in [0, 1]: the model's input
    how: str  # "marked" (this lab's download, pixel for pixel), "as is" (the user asked), "prepared" (as a photo)
    marker: dict | None  # the marker's fields, when marked
    note: str = ""  # anything the page should say about how it was read


def checked_marker(raw, dataset: str) -> dict:
    """The marker's fields, checked; an ImageError when it belongs to the other data set."""
    try:
        mark = {k: (str(raw[k]) if FIELDS[k].startswith("U") else (float(raw[k]) if k == "eps" else int(raw[k])))
                for k in FIELDS}
    except (KeyError, TypeError, ValueError) as e:
        raise ImageError(f"its vacdemo marker is damaged ({type(e).__name__}: {e}): download the picture again") from None
    if mark["dataset"] not in DATASETS:
        raise ImageError(f"its marker names an unknown data set {mark['dataset']!r}: download the picture again")
    if mark["dataset"] != dataset:
        raise ImageError(f"this picture was made in the {DATASETS[mark['dataset']].label} lab: switch the data set in "
                         "the sidebar to use it there")
    if not all(0 <= mark[k] < 10 for k in ("label", "pred", "pred_8bit")):
        raise ImageError("its vacdemo marker is damaged (a class outside 0 … 9): download the picture again")
    return mark


def read_npy(data: bytes, dataset: str) -> Picture:
    """A .npy upload: this lab's marked record, or a plain 28×28 array in [0, 1] (used as it is)."""
    if len(data) > MAX_BYTES:
        raise ImageError(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB")
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):  # pickled objects are refused: loading them could run code
            raise ImageError("this .npy holds Python objects, which are never loaded (they could run code): save "
                             "a plain float array with numpy.save") from None
        raise ImageError(f"this .npy file is damaged ({e}): download it again, or save a plain 28×28 float array "
                         "with numpy.save") from None
    except Exception as e:  # noqa: BLE001  a damaged or foreign file: one line
        raise ImageError(f"this .npy file cannot be read ({type(e).__name__}): download it again, or save a plain "
                         "28×28 float array with numpy.save") from None
    if not isinstance(a, np.ndarray):
        raise ImageError("this .npy file holds several arrays: save one 28×28 array")
    if a.dtype.names:
        if "x" not in a.dtype.names or a.shape != () or a["x"].shape != (28, 28):
            raise ImageError(f"this .npy is not a vacdemo download (fields {a.dtype.names}): save a plain 28×28 array")
        mark = checked_marker({k: a[k][()] for k in a.dtype.names if k != "x"}, dataset)
        return Picture(pixels(a["x"]), "marked", mark)
    if a.shape not in ((28, 28), (1, 28, 28)) or not np.issubdtype(a.dtype, np.number):
        raise ImageError(f"the array has shape {a.shape} and type {a.dtype}; the model reads a 28×28 array of "
                         "numbers in [0, 1]")
    return Picture(pixels(a.reshape(28, 28)), "as is", None, "a .npy array is used as it is")


def pixels(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
        raise ImageError(f"its pixels must be finite and in [0, 1], got [{np.nanmin(a):.3g}, {np.nanmax(a):.3g}]")
    return a.reshape(1, 28, 28)


def png_marker(data: bytes) -> tuple[dict | None, tuple[int, int] | None]:
    """The raw marker of a PNG (None without one) and the image's size, read from the header only: the text chunk
    comes before the pixels (img.info), so nothing is decoded here (decode() checks the size limits first)."""
    try:
        img = Image.open(io.BytesIO(data))
        text = img.info.get(KEY) if img.format == "PNG" and not getattr(img, "is_animated", False) else None
        return (json.loads(text) if isinstance(text, str) and text else None), img.size
    except Exception:  # noqa: BLE001  not a PNG we can read (or a damaged chunk): decode() says why, below
        return None, None


def read_picture(data: bytes, filename: str, dataset: str, as_is: bool = False) -> Picture:
    """An upload's bytes → the model's input and how it was read; an ImageError says what was wrong."""
    if filename.lower().endswith(".npy") or bytes(data[:6]) == NPY_MAGIC:
        return read_npy(bytes(data), dataset)
    raw, size = png_marker(data)
    if raw is not None and size == (28, 28):
        mark = checked_marker(raw, dataset)
        return Picture(pixels(decode(data)), "marked", mark)
    note = "its vacdemo marker was ignored: the picture was resized after download" if raw is not None else ""
    if as_is:
        g = decode(data)
        if g.shape != (28, 28):
            raise ImageError(f"the picture is {g.shape[1]}×{g.shape[0]} pixels: its pixels can be used as they are "
                             "only at 28×28 (untick the box to prepare it like a photo)")
        return Picture(pixels(g), "as is", None, note)
    return Picture(preprocess_image(data, dataset).numpy().astype(np.float32), "prepared", None, note)
