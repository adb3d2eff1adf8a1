"""What several commands share: the argument groups (each defined once), `command()` to add a subcommand with
them, and the checks and loaders more than one command runs.

Torch-free at import: registering the commands (and `--help`) loads only argparse and the foundation modules;
whatever a command needs beyond them it imports when it runs.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..datasets import DATASETS
from ..errors import SettingsError

WATCH_N = 500  # the LAST test images: the per-epoch PGD and FGSM accuracy (and the epoch kept), apart from the
# first ones the card and the tests report on


def data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="data root (default: $VACDEMO_DATA, else ./data)")
    p.add_argument("--download", action="store_true", help="let torchvision download missing data")


def dataset(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=sorted(DATASETS), required=True)


def device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def checkpoint(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", help="checkpoint folder (default: pretrained/<dataset>)")


def detector(p: argparse.ArgumentParser) -> None:
    p.add_argument("--refit", action="store_true", help="refit the detector even if the folder has one")
    p.add_argument("--n-fit", type=int, default=1000, help="training images for the detector (default 1000)")


GROUPS = {"data": data, "dataset": dataset, "device": device, "checkpoint": checkpoint, "detector": detector}


def command(sub, name: str, help: str, run, *groups: str) -> argparse.ArgumentParser:
    """Add subcommand `name`, run by `run(args) -> int`, with the shared argument groups named (in that order,
    before its own)."""
    p = sub.add_parser(name, help=help)
    for group in groups:
        GROUPS[group](p)
    p.set_defaults(run=run)
    return p


def check_counts(**counts) -> None:
    bad = {k: v for k, v in counts.items() if v is not None and v < 1}
    if bad:
        raise SettingsError(", ".join(f"--{k.replace('_', '-')} must be ≥ 1 (got {v})" for k, v in bad.items()))


def checkpoint_for(dataset: str, checkpoint: str | None):
    """--checkpoint (default pretrained/<dataset>) and its model, checked to be for --dataset: (Path, BetaVAC)."""
    from ..models.checkpoint import PRETRAINED, CheckpointError, load_checkpoint
    ckpt = Path(checkpoint or PRETRAINED / dataset)
    model = load_checkpoint(ckpt)
    if model.cfg.dataset != dataset:
        raise CheckpointError(f"{ckpt} was trained on {model.cfg.dataset!r}, not {dataset!r}")
    return ckpt, model


def detector_for(model, ckpt: Path, args, fit_eps: list[float], norm: str = "inf", steps: int = 40,
                 alpha: float | None = None):
    """The detector beside the checkpoint (vacdemo.attacks.evaluate.load_or_fit_detector), with --refit/--n-fit:
    (Detector, Path)."""
    from ..attacks.evaluate import load_or_fit_detector
    from ..data import load_split
    return load_or_fit_detector(model, ckpt, lambda: load_split(args.dataset, True, args.data_dir, args.download),
                                fit_eps, norm=norm, steps=steps, alpha=alpha, n_fit=args.n_fit, refit=args.refit)
