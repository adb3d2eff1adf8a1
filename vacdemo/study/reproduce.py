"""`python -m vacdemo reproduce`: train the paper's models, measure each, then write the report.

One folder per model under the work folder, holding its checkpoint and its measurements; both are reused
when present with the same settings, so an interrupted run resumes where it stopped.
"""
import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..models.checkpoint import WEIGHTS, load_checkpoint, save_checkpoint
from ..config import Config, preset
from ..data import Split, load_split
from ..device import describe_device, pick_device
from ..paper import BEST_CAPACITY, FIGURE_EPS_MAX, L1, TABLE_EPS
from ..models.vac import BetaVAC
from ..training.train import drop_resume, l1_penalty, train
from .backends import run_here, run_pool, run_ray
from .judge import JUDGE_EPOCHS, load_judge, save_judge, train_judge
from .second import SECOND, second_opinions
from .measure import EPOCH_TRACK_N, SUBSET, measure, robust_accuracy, test_subset

WEIGHT_STATS = "weights.json"  # the classifier's Σ|W| and sparsity: what λ did to it
MEASURE = "measure"  # measure.safetensors (tensors) + measure.json (settings, detector, training metrics)


@dataclass(frozen=True)
class Run:
    """One model of the study: a capacity-sweep point (l1 = 0) or an ℓ1-sweep point at the best capacity."""
    dataset: str
    capacity: float
    l1: float
    seed: int = 0  # initialisation and data order; seed 0 keeps the folder names of single-seed studies

    @property
    def name(self) -> str:
        return f"{self.dataset}-C{self.capacity:g}-l1_{self.l1:g}" + (f"-s{self.seed}" if self.seed else "")


@dataclass(frozen=True)
class Settings:
    preset: str  # "paper" (96/192 channels, for GPUs) or "fast" (16/32, for CPUs)
    epochs: int  # per model; the preset's lr milestones and capacity ramp scale with it
    n_test: int  # test images attacked at each ε: a seeded random draw, the same for every model
    n_fit: int  # training images (and their PGD versions) each detector is fitted on
    steps: int  # PGD steps (the paper's 40)
    device: str
    jobs: int  # models at once, each in its own process when > 1
    work: str  # folder of the models, measurements and judges
    data_dir: str | None = None
    download: bool = False
    train_images: int | None = None  # the first N training images only (tests, quick looks); None = all
    seeds: int = 1  # models per (capacity, λ), trained from seeds 0 … seeds − 1
    second: int = 0  # test images for the second opinions (APGD, Square, the raw step) on λ = 0 at the best C
    l1_sweep: bool = True  # the paper's λ at the best capacity (Tables 1–4)
    backend: str = "local"  # "local": here or a process pool (jobs > 1); "ray": one Ray task per model
    ray_address: str | None = None  # a running Ray cluster; None: a local Ray instance
    extra_l1: tuple[float, ...] = ()  # λ beyond the paper's, at the best capacity, seed 0: where ℓ1 bites


def plan(datasets: list[str], capacities: list[float], seeds: int = 1, extra_l1=(), l1_sweep: bool = True) -> list[Run]:
    """Seed by seed (a run cut short keeps whole studies): capacity sweeps first (Figs. 3–4), then ℓ1
    sweeps (Tables 1–4); last, the λ beyond the paper's (seed 0)."""
    runs = []
    for seed in range(seeds):
        runs += [Run(d, c, 0.0, seed) for d in datasets for c in capacities]
        runs += [Run(d, BEST_CAPACITY[d], lam, seed) for d in datasets for lam in L1[d] if l1_sweep]
    return runs + [Run(d, BEST_CAPACITY[d], lam) for d in datasets for lam in extra_l1 if lam not in L1[d]]


def tracked(run: Run) -> bool:
    """The model whose robustness is measured after every epoch: the best capacity, λ = 0, seed 0."""
    return run.l1 == 0 and run.capacity == BEST_CAPACITY[run.dataset] and run.seed == 0


def eps_grid(dataset: str) -> list[float]:
    """9 values over the figure's range: the step (0.0375 / 0.0125) lands on every table column too."""
    return [round(FIGURE_EPS_MAX[dataset] * i / 8, 6) for i in range(9)]


def scaled_config(name: str, run: Run, epochs: int | None) -> Config:
    """The preset for this run; with other epochs, the lr milestones and the capacity ramp scale with them."""
    cfg = preset(name, dataset=run.dataset, capacity=run.capacity, l1=run.l1, seed=run.seed)
    if epochs is None or epochs == cfg.epochs:
        return cfg
    r = epochs / cfg.epochs
    milestones = tuple(sorted({max(1, round(m * r)) for m in cfg.milestones} - {epochs}))
    return replace(cfg, epochs=epochs, milestones=tuple(m for m in milestones if m < epochs),
                   capacity_ramp_epochs=cfg.capacity_ramp_epochs * r, beta_ramp_epochs=cfg.beta_ramp_epochs * r,
                   ema_start_epochs=cfg.ema_start_epochs * r)


def to_device(split: Split, device: torch.device) -> Split:
    """The whole split on the device: batches are then gathered there, with no copy per step."""
    return Split(split.images.to(device), split.labels.to(device))


def measured(folder: Path, s: Settings, grid: list[float], cfg: Config, n: int) -> bool:
    """Whether folder holds measurements of this very model (config, training images) with these settings."""
    path = folder / f"{MEASURE}.json"
    if not path.exists() or not (folder / f"{MEASURE}.safetensors").exists():
        return False
    meta = json.loads(path.read_text())
    return (meta.get("n_fit"), meta.get("steps"), meta.get("eps"), meta.get("n_test_asked"), meta.get("subset")) == \
        (s.n_fit, s.steps, grid, s.n_test, SUBSET) and Config.from_dict(meta.get("config", {})) == cfg and \
        meta.get("training", {}).get("train_images") == n


def run_job(run: Run, quiet: bool, *, s: Settings, threads: int) -> dict:
    return run_one(run, s, threads, quiet)


def run_one(run: Run, s: Settings, threads: int, quiet: bool) -> dict:
    """One model, trained and measured; quiet (a worker process): its output goes to the folder's log.txt."""
    torch.set_num_threads(threads)
    folder = Path(s.work) / run.name
    folder.mkdir(parents=True, exist_ok=True)
    if not quiet:
        return train_and_measure(run, s, folder)
    with open(folder / "log.txt", "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        return train_and_measure(run, s, folder)


def train_and_measure(run: Run, s: Settings, folder: Path) -> dict:
    """Train (unless the checkpoint exists with this config) and measure (unless done) one model."""
    start, device = time.perf_counter(), pick_device(s.device)
    cfg = scaled_config(s.preset, run, s.epochs)
    grid = eps_grid(run.dataset)
    train_split = to_device(load_split(run.dataset, True, s.data_dir, s.download), device)
    n = min(s.train_images or len(train_split), len(train_split))
    model = load_checkpoint(folder) if (folder / WEIGHTS).exists() else None
    if model is not None and (model.cfg != cfg or model.meta["metrics"].get("train_images") != n):
        model = None  # trained with other settings: train again
    if model is not None and measured(folder, s, grid, cfg, n):
        status = "reused"
    else:
        model = train_if_needed_and_measure(run, s, folder, cfg, grid, n, model, train_split, device)
        status = "done"
    if not (folder / WEIGHT_STATS).exists():
        (folder / WEIGHT_STATS).write_text(json.dumps(weight_stats(model), indent=1))
    if s.second and run.l1 == 0 and run.capacity == BEST_CAPACITY[run.dataset] and not seconded(folder, s):
        test_split = to_device(load_split(run.dataset, False, s.data_dir, s.download), device)
        tensors, meta = second_opinions(model.to(device), test_split, TABLE_EPS[run.dataset][1:], n=s.second,
                                        steps=s.steps)
        save_file(tensors, str(folder / f"{SECOND}.safetensors"))
        (folder / f"{SECOND}.json").write_text(json.dumps(meta | {"run": asdict(run)}, indent=1))
        status += " + second opinions"
    return {"run": run.name, "status": status, "wall_s": round(time.perf_counter() - start, 1)}


def weight_stats(model: BetaVAC) -> dict:
    """The classifier's Σ|W| (the ℓ1 penalty's measure) and its share of weights below 10⁻³ in size."""
    w = torch.cat([m.weight.detach().flatten().float().cpu() for m in model.classifier if isinstance(m, torch.nn.Linear)])
    return {"l1": l1_penalty(model).item(), "near_zero": (w.abs() < 1e-3).float().mean().item(), "weights": len(w)}


def seconded(folder: Path, s: Settings) -> bool:
    """Whether folder holds second opinions with these settings."""
    path = folder / f"{SECOND}.json"
    if not path.exists() or not (folder / f"{SECOND}.safetensors").exists():
        return False
    meta = json.loads(path.read_text())
    return (meta.get("n"), meta.get("steps"), meta.get("subset")) == (s.second, s.steps, SUBSET)


def train_if_needed_and_measure(run: Run, s: Settings, folder: Path, cfg: Config, grid, n: int, model, train_split,
                                device) -> BetaVAC:
    """Train (when model is None) and measure; returns the model."""
    for f in [*folder.glob(f"{MEASURE}.*"), *folder.glob(f"{SECOND}.*")]:  # stale: a crash below must not leave
        f.unlink()  # them beside a new model
    test_split = to_device(load_split(run.dataset, False, s.data_dir, s.download), device)
    if model is None:
        print(f"training {run.name} ({cfg.epochs} epochs, {n} images)")
        on_epoch = None
        if tracked(run):  # is short training the cause of the robustness? (issue 16, item 5)
            x, y = test_split.batch(test_subset(len(test_split), EPOCH_TRACK_N))
            on_epoch = partial(robust_accuracy, x=x, y=y, eps_list=TABLE_EPS[run.dataset][1:], steps=s.steps)
        model, history = train(cfg, train_split, test_split, device, out_dir=folder, limit=n, on_epoch=on_epoch)
        save_checkpoint(model.cpu(), folder, {"final": {**history[-1], "device": str(device)},
                                              "preset": s.preset, "train_images": n})
        drop_resume(folder)
    judge, _ = load_judge(Path(s.work) / f"judge-{run.dataset}")
    tensors, meta = measure(model.to(device), judge.to(device), train_split, test_split, grid,
                            n_test=s.n_test, n_fit=s.n_fit, fig_eps=TABLE_EPS[run.dataset][2], steps=s.steps)
    meta.update(n_test_asked=s.n_test, subset=SUBSET, run=asdict(run), config=cfg.to_dict(), device=str(device),
                training=load_checkpoint(folder).meta["metrics"])
    save_file(tensors, str(folder / f"{MEASURE}.safetensors"))
    (folder / f"{MEASURE}.json").write_text(json.dumps(meta, indent=1))
    return model


def ensure_judges(datasets: list[str], s: Settings) -> None:
    device = pick_device(s.device)
    for d in datasets:
        folder = Path(s.work) / f"judge-{d}"
        train_split, test_split = (load_split(d, t, s.data_dir, s.download) for t in (True, False))
        n = min(s.train_images or len(train_split), len(train_split))
        found = load_judge(folder)
        if found is None or found[1].get("train_images") != n:
            print(f"training the judge CNN for {d} …")
            train_split = Split(train_split.images[:n], train_split.labels[:n])
            start = time.perf_counter()
            judge, acc = train_judge(train_split, test_split, device, epochs=JUDGE_EPOCHS)
            save_judge(judge, folder, {"dataset": d, "test_accuracy": acc, "epochs": JUDGE_EPOCHS, "train_images": n,
                                       "wall_s": round(time.perf_counter() - start, 1)})
        print(f"judge for {d}: test accuracy {load_judge(folder)[1]['test_accuracy']:.4f}")


def reproduce(datasets: list[str], capacities: list[float], s: Settings, command: str = "") -> list[dict]:
    """Judges, then every run (jobs at a time, each in its own process when jobs > 1); returns their status."""
    start = time.perf_counter()
    runs = plan(datasets, capacities, s.seeds, s.extra_l1, s.l1_sweep)
    ensure_judges(datasets, s)
    threads = max(1, (os.cpu_count() or 1) // s.jobs)
    job = partial(run_job, s=s, threads=threads)
    names = [r.name for r in runs]
    results, ended = [], "finished"
    try:
        if s.backend == "ray":
            gpus = 1 / s.jobs if pick_device(s.device).type == "cuda" else 0
            results += run_ray(job, runs, names, cpus=threads, gpus=gpus, address=s.ray_address,
                               local_cpus=threads * s.jobs)
        elif s.jobs == 1:
            run_here(job, runs, names, results)
        else:
            results += run_pool(job, runs, names, s.jobs)
    except BaseException:  # Ctrl-C or SIGTERM: a study runs in parts, and each part is recorded
        ended = "interrupted"
        raise
    finally:
        path = Path(s.work) / "run.json"
        info = json.loads(path.read_text()) if path.exists() else {"invocations": []}
        info["invocations"].append({"command": command, "settings": asdict(s), "datasets": datasets,
                                    "capacities": capacities, "device": describe_device(pick_device(s.device)),
                                    "wall_s": round(time.perf_counter() - start, 1), "results": results,
                                    ended: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
        path.write_text(json.dumps(info, indent=1))
    return results
