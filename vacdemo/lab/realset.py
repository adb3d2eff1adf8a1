"""The real-picture set: digits (and garments) from sources outside MNIST, read through preprocess_image as
an upload is. Each kind is a folder of pictures named <label>_<n>.<ext> under realset/<dataset>/ (made by
scripts/make_realset.py); the model card reports the accuracy per kind."""
from collections import Counter
from pathlib import Path

import torch

from ..errors import SettingsError
from ..paths import REALSET
from ..models.vac import BetaVAC, eval_mode
from .preprocess import preprocess_image



def load_realset(dataset: str, root: Path = REALSET) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{kind: (x (N, 1, 28, 28) prepared as uploads are, labels (N,))}, kinds in name order."""
    folder = Path(root) / dataset
    if not folder.is_dir():
        raise SettingsError(f"no real-picture set for {dataset!r} under {folder}: scripts/make_realset.py builds it")
    out = {}
    for kind in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(kind.iterdir())
        bad = [f.name for f in files if not f.stem.split("_")[0].isdigit() or int(f.stem.split("_")[0]) > 9]
        if not files or bad:
            raise SettingsError(f"{kind}: {'no pictures' if not files else f'names not <label>_<n>: {bad[:3]}'}")
        x = torch.stack([preprocess_image(f.read_bytes(), dataset) for f in files])
        out[kind.name] = (x, torch.tensor([int(f.stem.split("_")[0]) for f in files]))
    if not out:
        raise SettingsError(f"{folder}: no kinds (sub-folders of pictures)")
    return out


@torch.no_grad()
def realset_accuracy(model: BetaVAC, dataset: str, root: Path = REALSET) -> dict[str, dict]:
    """{kind: {"accuracy", "correct", "n", "misread": {(true, read): count}}} and an "all" row over every picture."""
    rows, hits, total = {}, 0, 0
    with eval_mode(model):
        for kind, (x, y) in load_realset(dataset, root).items():
            read = model.classify(x).argmax(1)
            correct = int((read == y).sum())
            misread = Counter((int(a), int(b)) for a, b in zip(y, read) if a != b)
            rows[kind] = {"accuracy": correct / len(y), "correct": correct, "n": len(y), "misread": dict(misread)}
            hits, total = hits + correct, total + len(y)
    every = sum((Counter(r["misread"]) for r in rows.values()), Counter())
    rows["all"] = {"accuracy": hits / total, "correct": hits, "n": total, "misread": dict(every)}
    return rows
