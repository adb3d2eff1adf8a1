"""Checkpoints as data, not code: weights in safetensors, config + metrics + provenance in JSON."""
import json
import subprocess
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..config import Config
from ..errors import VacdemoError
from ..paths import PACKAGE, PRETRAINED
from .vac import BetaVAC, build_model

WEIGHTS, META = "model.safetensors", "config.json"
FORMAT = "vacdemo-checkpoint/1"


class CheckpointError(VacdemoError, ValueError):
    """A checkpoint file is missing, corrupt or does not match the model its config describes."""


def code_version() -> str:
    """The package version and, inside a git checkout, the commit (with -dirty for uncommitted changes)."""
    from ..version import __version__
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=PACKAGE, capture_output=True,
                             text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return f"{__version__}+{rev}" if rev else __version__


def save_checkpoint(model: BetaVAC, out_dir: Path, metrics: dict, half: bool = False) -> Path:
    """out_dir/model.safetensors + out_dir/config.json. half: store weights as float16."""
    out_dir.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if half else torch.float32
    state = {k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in model.state_dict().items()}
    save_file(state, str(out_dir / WEIGHTS))
    meta = {"format": FORMAT, "dataset": model.cfg.dataset, "code_version": code_version(),
            "config": model.cfg.to_dict(), "metrics": metrics}
    (out_dir / META).write_text(json.dumps(meta, indent=1))
    return out_dir


def read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing (a checkpoint folder holds {WEIGHTS} and {META})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{path}: format is {got!r}, expected {FORMAT!r}")
    for key in ("dataset", "config"):
        if key not in meta:
            raise CheckpointError(f"{path}: field {key!r} is missing")
    return meta


def load_checkpoint(path: str | Path) -> BetaVAC:
    """The model a checkpoint folder describes, in eval mode, on the CPU, in float32 (channels_last).
    Never unpickles."""
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    meta = read_meta(folder / META)
    try:
        cfg = Config.from_dict(meta["config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{folder / META}: bad config: {e}") from None
    if cfg.dataset != meta["dataset"]:
        raise CheckpointError(f"{folder / META}: dataset {meta['dataset']!r} but config says {cfg.dataset!r}")
    try:
        state = load_file(str(folder / WEIGHTS))
    except FileNotFoundError:
        raise CheckpointError(f"{folder / WEIGHTS}: missing") from None
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{folder / WEIGHTS}: not a readable safetensors file ({e})") from None
    model = build_model(cfg)
    expected = model.state_dict()
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{folder / WEIGHTS}: does not match its config: "
                              f"missing {missing[:5]}, unexpected {extra[:5]}")
    for k, v in expected.items():
        if state[k].shape != v.shape:
            raise CheckpointError(f"{folder / WEIGHTS}: {k} has shape {tuple(state[k].shape)}, "
                                  f"the config's model needs {tuple(v.shape)}")
        if state[k].is_floating_point() and not torch.isfinite(state[k]).all():
            raise CheckpointError(f"{folder / WEIGHTS}: {k} holds NaN or infinite values")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    # channels_last: oneDNN's faster convolution layout on CPUs (`python -m vacdemo bench`, the channels_last row)
    model.to(memory_format=torch.channels_last).eval()
    model.meta = meta
    return model


def load_pretrained(name: str) -> BetaVAC:
    """The shipped checkpoint for 'mnist' or 'fmnist' (pretrained/<name>/), eval mode, CPU."""
    folders = sorted(p.name for p in PRETRAINED.iterdir() if (p / META).exists()) if PRETRAINED.is_dir() else []
    if name not in folders:
        raise CheckpointError(f"no pretrained checkpoint {name!r} in {PRETRAINED}; shipped: {folders}")
    return load_checkpoint(PRETRAINED / name)
