"""How MNIST-like are prepared pictures? Ink intensity and stroke width of MNIST's test digits against the
real-picture set after preprocess_image: python scripts/ink_stats.py (run from the repository root)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's vacdemo, from any folder

import numpy as np

from vacdemo.data import load_split
from vacdemo.lab.preprocess import stroke_width
from vacdemo.lab.realset import load_realset


def stats(x: np.ndarray) -> str:
    """x (N, 28, 28) in [0, 1]: the share of ink pixels (> 0.1) that are saturated (≥ 0.9), their median
    intensity, and the median stroke width in px."""
    ink = x[x > 0.1]
    width = np.median([stroke_width(a) for a in x])
    return f"saturated {np.mean(ink >= 0.9):.2f}  median ink {np.median(ink):.2f}  stroke width {width:.1f} px"


if __name__ == "__main__":
    mnist = load_split("mnist", False).images[:2000].numpy() / 255
    print(f"{'MNIST test (2000)':<22} {stats(mnist)}")
    for kind, (x, _) in load_realset("mnist").items():
        print(f"{kind:<22} {stats(x[:, 0].numpy())}")
