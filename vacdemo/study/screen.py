"""Screening the model's levers one at a time (issue 30): short runs of the `ship` recipe, each with one lever
changed, chosen on a validation split of the training data (never on the realset or the test set, which are
reported beside it only). One folder per lever under the work folder: resume.pt while it trains, then the
checkpoint, then result.json; an interrupted screen resumes where it stopped.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch

from ..config import Config, preset, with_overrides
from ..errors import SettingsError
from ..data import Split, load_split
from ..lab.realset import realset_accuracy
from ..models.checkpoint import WEIGHTS, load_checkpoint, save_checkpoint
from ..training.evaluate import evaluate
from ..training.train import drop_resume, train
from .reproduce import Run, scaled_config

VALIDATION = 5000  # the last training images: the screens choose on them
LEVERS = {  # per data set, one change each against its ship recipe
    "mnist": {
        "ship": {},
        "elastic": {"elastic": 2.0},  # Simard et al.'s warp, α = 2 px at σ = 4 px
        "redraw": {"redraw": 0.5},  # half the digits drawn again along their centre line with a new pen width
        "redraw+elastic": {"redraw": 0.5, "elastic": 2.0},
        "wide": {"width1": 32, "width2": 64},  # 3–4× the compute: only if the others fall short
        "hidden-128": {"hidden": 128},  # a wider classifier head (Fashion-MNIST's lever), for digits too
        "hidden-256": {"hidden": 256},  # the head's curve one step further
    },
    "fmnist": {
        "ship": {},  # 24/48 channels, C = 1
        "wide": {"width1": 32, "width2": 64},  # 1.8× the ship's compute
        "hidden-128": {"hidden": 128},  # a wider classifier head: the class term's share of the code
        "hidden-256": {"hidden": 256},  # the head's curve one step further
        "no-augment": {"augment": False},  # what the real-picture augmentation costs the clean test set
    },
}
RESULT = "result.json"


def split_train(train_split: Split) -> tuple[Split, Split]:
    """(the training images the screens learn from, the validation images they are chosen on)."""
    n = len(train_split) - VALIDATION
    return (Split(train_split.images[:n], train_split.labels[:n]),
            Split(train_split.images[n:], train_split.labels[n:]))


def lever_config(dataset: str, lever: str, epochs: int, seed: int = 0) -> Config:
    """The data set's ship recipe (its own capacity and width) over `epochs`, with the lever's one change."""
    cfg = scaled_config("ship", Run(dataset, preset("ship", dataset=dataset).capacity, 0.0, seed), epochs)
    return with_overrides(cfg, **LEVERS[dataset][lever])  # checked: redraw and elastic refuse garments


def screen(lever: str, work: Path, *, dataset: str = "mnist", epochs: int = 8, seed: int = 0, data_dir=None,
           download: bool = False, limit: int | None = None) -> dict:
    """Train (or resume, or reuse) one lever's model and read it: validation accuracy, realset per kind. limit: the
    first N training images only (a test)."""
    folder = work / lever
    out = folder / RESULT
    if out.exists():
        row = json.loads(out.read_text())
        if row.get("dataset", dataset) != dataset:
            raise SettingsError(f"{out} is a {row['dataset']} screen, not {dataset}: use another --work folder")
        if "validation_hits" not in row and (folder / WEIGHTS).exists():  # a result from before the paired column
            _, valid = split_train(load_split(dataset, True, data_dir, download))
            row["validation_hits"] = hits(load_checkpoint(folder).eval().requires_grad_(False), valid)
            out.write_text(json.dumps(row, indent=1))
        return row
    cfg = lever_config(dataset, lever, epochs, seed)
    learn, valid = split_train(load_split(dataset, True, data_dir, download))
    device = torch.device("cpu")
    model = load_checkpoint(folder) if (folder / WEIGHTS).exists() else None
    if model is None or model.cfg != cfg:
        print(f"screening {lever} ({cfg.epochs} epochs) → {folder}", flush=True)
        model, history = train(cfg, learn, valid, device, out_dir=folder, limit=limit)
        save_checkpoint(model, folder, {"final": history[-1], "preset": "ship", "validation": VALIDATION})
        drop_resume(folder)
    model.eval().requires_grad_(False)
    start = time.perf_counter()
    real = realset_accuracy(model, dataset)
    final = load_checkpoint(folder).meta["metrics"]["final"]
    row = {"dataset": dataset, "lever": lever, "changes": LEVERS[dataset][lever], "epochs": cfg.epochs, "seed": seed,
           "validation_accuracy": evaluate(model, valid, device)["accuracy"], "n_validation": len(valid),
           "validation_hits": hits(model, valid),
           "realset": {k: v["accuracy"] for k, v in real.items()}, "realset_n": {k: v["n"] for k, v in real.items()},
           "train_s": final.get("wall_s"), "read_s": round(time.perf_counter() - start, 1)}
    out.write_text(json.dumps(row, indent=1))
    return row


@torch.no_grad()
def hits(model, valid: Split) -> str:
    """Which validation images the model reads right, one "1" or "0" each: what a paired comparison needs."""
    read = torch.cat([model.classify(valid.batch(slice(i, i + 500))[0]).argmax(1) for i in range(0, len(valid), 500)])
    return "".join("1" if h else "0" for h in (read == valid.labels).tolist())


def paired(row: dict, base: dict) -> tuple[float, float] | None:
    """(row's validation accuracy − base's, half-width of its paired 95 % interval) over the same images."""
    a, b = row.get("validation_hits"), base.get("validation_hits")
    if not a or not b or len(a) != len(b):
        return None
    d = [int(x) - int(y) for x, y in zip(a, b)]
    mean = sum(d) / len(d)
    sd = math.sqrt(sum((v - mean) ** 2 for v in d) / max(1, len(d) - 1))
    return mean, 1.96 * sd / math.sqrt(len(d))


def table(rows: list[dict], base: str = "ship") -> str:
    """Markdown: one row per lever, validation accuracy (what chooses) and its paired difference from the `base`
    lever's row, then the realset per kind (reported)."""
    if not rows:
        return ""
    kinds = sorted({k for r in rows for k in r["realset"]}, key=lambda k: (k == "all", k))  # a kind added later: —
    base_row = next((r for r in rows if r["lever"] == base), None)
    out = [f"| lever | epochs | validation acc | Δ vs {base} (paired 95 %) | " + " | ".join(kinds) + " | train s |",
           "|---|---:|---:|---:|" + "---:|" * len(kinds) + "---:|"]
    for r in rows:
        pd = paired(r, base_row) if base_row is not None and r is not base_row else None
        delta = f"{pd[0]:+.4f} ± {pd[1]:.4f}" if pd else "—"
        out.append(f"| {r['lever']} | {r['epochs']} | {r['validation_accuracy']:.4f} | {delta} | "
                   + " | ".join(f"{r['realset'][k]:.3f}" if k in r["realset"] else "—" for k in kinds) + f" | {r['train_s']:.0f} |")
    return "\n".join(out)
