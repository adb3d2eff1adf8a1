"""Why is Fashion-MNIST's first column higher than the paper's? One experiment per suspect (issue 31).

Each arm changes one thing in the study's own fast-preset model (Fashion-MNIST, C = 10, λ = 0) or in its
attack, and is trained and measured in fp32 beside the baseline, over several seeds. One folder per arm and
seed under the work folder: the training state after every epoch (resume.pt), then the checkpoint, then
result.json; each step is skipped when done, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import torch

from ..attacks.evaluate import batched
from ..attacks.pgd import default_alpha, pgd
from ..config import Config
from ..data import load_split
from ..models.checkpoint import WEIGHTS, load_checkpoint, save_checkpoint
from ..models.vac import eval_mode
from ..paper import TABLE_EPS
from ..training.train import drop_resume, train
from .measure import EPOCH_TRACK_N, robust_accuracy, test_subset
from .reproduce import Run, scaled_config

DATASET, CAPACITY = "fmnist", 10.0  # the paper's best capacity for Fashion-MNIST: its Table 2
COLUMNS = TABLE_EPS[DATASET][1:]  # 0.025, 0.05, 0.075, 0.1
RESULT = "result.json"


@dataclass(frozen=True)
class Arm:
    name: str
    what: str  # one line: what is changed against the baseline
    train: dict = field(default_factory=dict)  # config overrides
    attack: dict = field(default_factory=dict)  # pgd() keyword arguments
    epochs: int | None = None  # None: the fast preset's 6
    same_models_as: str | None = None  # an attack-only arm: measures that arm's models


ARMS = {a.name: a for a in [
    Arm("baseline", "the study's fast preset as committed (eq. 5 with our scaling), in fp32"),
    Arm("recon-mean", "−log p(x|z) averaged over the 784 pixels instead of summed (most BCE code's scale)",
        train={"recon_reduction": "mean"}),
    Arm("kl-summed", "KL summed over the code, C = 10 nats in all (0.1 per dimension): β·|ΣKL − 10|",
        # β·|Σ_d KL_d − C| = (β·d)·|KL/d − C/d|: the same objective in our per-dimension unit; δ scaled alike
        train={"beta": 1000.0 * 100, "capacity": CAPACITY / 100, "capacity_smoothing": 0.2 / 100}),
    Arm("huber-0", "eq. 5's |KL − c| exactly (our Huber smoothing δ = 0.2 off)", train={"capacity_smoothing": 0.0}),
    Arm("no-clamp", "the baseline's models attacked without the [0, 1] clamp (Algorithm 2 as printed)",
        attack={"box": False}, same_models_as="baseline"),
    Arm("kl-summed-no-clamp", "both: the kl-summed models (the paper's clean accuracy) attacked without the clamp",
        attack={"box": False}, same_models_as="kl-summed"),
    Arm("epochs-60", "60 epochs instead of 6 (lr milestone and capacity ramp scaled alike)", epochs=60),
]}
CHEAP = ["baseline", "no-clamp", "recon-mean", "huber-0", "kl-summed", "kl-summed-no-clamp"]  # the order they run in


def config_for(arm: Arm, seed: int, capacity: float = CAPACITY) -> Config:
    cfg = scaled_config("fast", Run(DATASET, capacity, 0.0, seed), arm.epochs)
    return replace(cfg, bf16=False, **arm.train)  # fp32: the committed study's bf16 was an AMX machine's


def folder_for(work: Path, arm: Arm, seed: int, capacity: float = CAPACITY) -> Path:
    at = "" if capacity == CAPACITY else f"-C{capacity:g}"  # the per-epoch curves at other capacities
    return work / f"{arm.same_models_as or arm.name}{at}-s{seed}"


def run_arm(arm: Arm, seed: int, work: Path, *, n_test: int, steps: int, data_dir=None, download=False,
            device: torch.device = torch.device("cpu"), capacity: float = CAPACITY) -> dict:
    """Train (or resume, or reuse) one model and measure it under the arm's attack; the result row (fp32 on any
    device: bf16 is off in config_for)."""
    folder = folder_for(work, arm, seed, capacity)
    cfg = config_for(ARMS[arm.same_models_as] if arm.same_models_as else arm, seed, capacity)
    out = folder / f"{arm.name}-{RESULT}" if arm.same_models_as else folder / RESULT
    if out.exists():
        return json.loads(out.read_text())
    train_split, test_split = load_split(DATASET, True, data_dir, download), load_split(DATASET, False, data_dir, download)
    model = load_checkpoint(folder) if (folder / WEIGHTS).exists() else None
    if model is None or model.cfg != cfg:
        x, y = test_split.batch(test_subset(len(test_split), EPOCH_TRACK_N))
        watch = partial(robust_accuracy, x=x, y=y, eps_list=COLUMNS[:1], steps=steps, fast=False)
        print(f"training {folder.name} ({cfg.epochs} epochs)", flush=True)
        model, history = train(cfg, train_split, test_split, device, out_dir=folder, on_epoch=watch)
        save_checkpoint(model.cpu(), folder, {"final": history[-1], "preset": "fast", "device": str(device)})
        drop_resume(folder)
    model = model.to(device)
    start = time.perf_counter()
    index = test_subset(len(test_split), n_test)
    x, y = (t.to(device) for t in test_split.batch(index))
    model.eval().requires_grad_(False)
    with torch.no_grad(), eval_mode(model):
        clean = batched(lambda s: model.classify(x[s]).argmax(1), len(x), 500)
    robust = {}
    for eps in COLUMNS:  # fp32, the plain path: no folding, no autocast
        x_adv = batched(lambda s: pgd(model, x[s], y[s], eps=eps, alpha=default_alpha(eps, steps, "inf"), steps=steps,
                                      fast=False, **arm.attack), len(x), 500)
        with torch.no_grad(), eval_mode(model):
            pred = batched(lambda s: model.classify(x_adv[s]).argmax(1), len(x), 500)
        robust[f"{eps:g}"] = (pred == y).float().mean().item()
    metrics = load_checkpoint(folder).meta["metrics"]["final"]
    row = {"arm": arm.name if capacity == CAPACITY else f"{arm.name} C={capacity:g}", "seed": seed, "capacity": capacity, "config": cfg.to_dict(), "attack": arm.attack, "n_test": n_test,
           "steps": steps, "clean_subset": (clean == y).float().mean().item(),
           "clean_test": metrics["test_accuracy"], "robust": robust,
           "epoch_curve": [{"epoch": r["epoch"], "test_accuracy": r["test_accuracy"],
                            "robust@0.025": r.get("robust@0.025")} for r in json.loads((folder / "metrics.json").read_text())],
           "measure_s": round(time.perf_counter() - start, 1), "train_s": metrics.get("wall_s")}
    out.write_text(json.dumps(row, indent=1))
    return row
