"""Does the pen's width alone cost accuracy? (issue 30) The last training digits (the screens' validation split,
never the realset or the test set) thinned to their centre line and drawn again with a round pen of several widths
on a 252 px canvas, white on black, then read through `preprocess_image` as an upload is.

python scripts/pen_validation.py [--n 1000] [CHECKPOINT_DIR ...]     # default: the shipped MNIST model

Prints one row per model: accuracy per pen width (px at 252 px; the realset's pens are 2.5 %, 7 % and 13 % of
the picture: about 6, 18 and 33 px), then the same digits as they are (28×28, no preparation).
"""
import argparse
import io
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vacdemo.data import load_split  # noqa: E402
from vacdemo.lab.preprocess import preprocess_image  # noqa: E402
from vacdemo.models.checkpoint import load_checkpoint  # noqa: E402
from vacdemo.paths import PRETRAINED  # noqa: E402

WIDTHS = [4, 10, 18, 26, 34]  # px at 252 px
SIDE = 252


def redrawn(digit: np.ndarray, width: float) -> bytes:
    """A 28×28 uint8 digit → PNG bytes: its centre line at SIDE px drawn with a round pen `width` px wide."""
    big = np.asarray(Image.fromarray(digit).resize((SIDE, SIDE), Image.BICUBIC)) > 127
    d = ndimage.distance_transform_edt(~skeletonize(big))
    cover = np.clip(width / 2 + 0.5 - d, 0, 1)  # antialiased rim
    out = io.BytesIO()
    Image.fromarray((cover * 255).round().astype(np.uint8)).save(out, "PNG")
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="*", type=Path, default=[PRETRAINED / "mnist"])
    ap.add_argument("--n", type=int, default=1000, help="the last N training digits (default 1000)")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    s = load_split("mnist", True, args.data_dir)
    digits, y = s.images[-args.n:], s.labels[-args.n:]
    x = {w: torch.stack([preprocess_image(redrawn(d.numpy(), w), "mnist") for d in digits]) for w in WIDTHS}
    x["as they are"] = digits[:, None].float() / 255
    print("| model | " + " | ".join(f"pen {w} px" if isinstance(w, int) else w for w in x) + " |")
    print("|---|" + "---:|" * len(x))
    for folder in args.checkpoints:
        model = load_checkpoint(folder).eval()
        with torch.no_grad():
            acc = [(model.classify(v).argmax(1) == y).float().mean().item() for v in x.values()]
        print(f"| {folder} | " + " | ".join(f"{a:.3f}" for a in acc) + " |")


if __name__ == "__main__":
    main()
