"""The marker the lab's downloads carry (torch-free: the page writes it), read back by vacdemo.lab.marked.

PNG: a text chunk "vacdemo" holding the marker as JSON, the 28×28 picture at 1 pixel per pixel (8-bit, so rounded
to 1/255). .npy: a one-record structured array (the exact float32 pixels and the marker's fields), read with
allow_pickle=False: loading it never runs code.
"""
import io
import json

import numpy as np
from PIL import Image, PngImagePlugin

KEY = "vacdemo"  # the PNG text chunk's keyword
FIELDS = {"dataset": "U16", "model": "U64", "attack": "U32", "norm": "U4", "eps": "<f8", "label": "<i4",
          "pred": "<i4", "pred_8bit": "<i4"}


def marker(dataset: str, model: str, attack: str, norm: str, eps: float, label: int, pred: int, pred_8bit: int) -> dict:
    return {"dataset": dataset, "model": model, "attack": attack, "norm": norm, "eps": float(eps), "label": int(label),
            "pred": int(pred), "pred_8bit": int(pred_8bit)}


def marked_png(x: np.ndarray, mark: dict) -> bytes:
    """(28, 28) in [0, 1] → an 8-bit gray PNG at one pixel per pixel, the marker in its text chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text(KEY, json.dumps(mark))
    buf = io.BytesIO()
    Image.fromarray((np.clip(x, 0, 1) * 255).round().astype(np.uint8)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def marked_npy(x: np.ndarray, mark: dict) -> bytes:
    """(28, 28) float32 exact pixels and the marker, as a one-record structured .npy (no pickled objects)."""
    rec = np.zeros((), dtype=[("x", "<f4", (28, 28)), *FIELDS.items()])
    rec["x"] = np.asarray(x, dtype=np.float32)
    for k in FIELDS:
        rec[k] = mark[k]
    buf = io.BytesIO()
    np.save(buf, rec, allow_pickle=False)
    return buf.getvalue()
