"""The realset's pen kinds read by pen width, look and confusion (issue 30): which strokes a model misreads.

python scripts/pen_widths.py [CHECKPOINT_DIR ...]     # default: the shipped MNIST model

A pen picture <label>_<n>.png was drawn at width n % 3 (thin, the canvas's, thick), on the canvas for n < 3 and
on paper after (scripts/make_realset.py, build_pen). Prints a markdown table per model, then its confusions.
"""
import sys
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vacdemo.lab.preprocess import preprocess_image  # noqa: E402
from vacdemo.models.checkpoint import load_checkpoint  # noqa: E402
from vacdemo.paths import PRETRAINED  # noqa: E402

KINDS = ["pen-sans", "pen-serif", "pen-italic", "pen-script", "pen-styled"]
ROOT = Path(__file__).resolve().parent.parent / "realset" / "mnist"


def read(kind: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    files = sorted((ROOT / kind).iterdir())
    x = torch.stack([preprocess_image(f.read_bytes(), "mnist") for f in files])
    label, n = (torch.tensor([int(f.stem.split("_")[i]) for f in files]) for i in (0, 1))
    return x, label, n


def main(folders: list[Path]) -> None:
    data = {k: read(k) for k in KINDS}
    cells = {"thin": lambda n: n % 3 == 0, "canvas's": lambda n: n % 3 == 1, "thick": lambda n: n % 3 == 2,
             "on canvas": lambda n: n < 3, "on paper": lambda n: n >= 3}
    print("| model | " + " | ".join(cells) + " | all |\n|---|" + "---:|" * (len(cells) + 1))
    confusions = {}
    for folder in folders:
        model = load_checkpoint(folder).eval()
        ok, ns, pairs = [], [], Counter()
        for x, y, n in data.values():
            with torch.no_grad():
                p = model.classify(x).argmax(1)
            ok.append(p == y), ns.append(n)
            pairs.update(f"{a}→{b}" for a, b in zip(y.tolist(), p.tolist()) if a != b)
        ok, ns = torch.cat(ok).float(), torch.cat(ns)
        print(f"| {folder} | " + " | ".join(f"{ok[f(ns)].mean():.3f}" for f in cells.values()) + f" | {ok.mean():.3f} |")
        confusions[folder] = pairs
    for folder, pairs in confusions.items():
        print(f"\n{folder}: misreadings (true→read, count): " + ", ".join(f"{k} {v}" for k, v in pairs.most_common(10)))


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]] or [PRETRAINED / "mnist"])
