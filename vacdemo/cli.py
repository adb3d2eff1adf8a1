"""`python -m vacdemo train|evaluate`: argparse → seed/device → data → model → train/evaluate."""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import PRESETS, preset
from .data import DATASETS, DataNotFoundError, load_split
from .device import pick_device
from .evaluate import evaluate
from .train import train


def parse_override(text: str) -> tuple[str, object]:
    """'field=value' → (field, value typed like the field's default)."""
    key, sep, raw = text.partition("=")
    defaults = PRESETS["paper"].to_dict()
    if not sep or key not in defaults:
        raise argparse.ArgumentTypeError(f"{text!r}: expected FIELD=VALUE with FIELD one of {sorted(defaults)}")
    kind = type(defaults[key])
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return key, raw.lower() in ("true", "1")
        if kind is tuple:
            return key, tuple(int(v) for v in raw.split(",") if v)
        return key, kind(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {raw!r} is not a valid {kind.__name__}") from None


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    p.add_argument("--data-dir", help="data root (default: $VACDEMO_DATA, else ./data)")
    p.add_argument("--download", action="store_true", help="let torchvision download missing data")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def cmd_train(args) -> int:
    cfg = preset(args.preset, dataset=args.dataset, capacity=args.capacity, l1=args.l1, epochs=args.epochs,
                 seed=args.seed, batch_size=args.batch_size, **dict(args.set or []))
    device = pick_device(args.device)
    out = Path(args.out or f"runs/{cfg.dataset}-{args.preset}-C{cfg.capacity:g}")
    train_split = load_split(cfg.dataset, True, args.data_dir, args.download)
    test_split = load_split(cfg.dataset, False, args.data_dir, args.download)
    print(f"training {args.preset} preset on {cfg.dataset} ({device}, {torch.get_num_threads()} threads) → {out}")
    start = time.perf_counter()
    model, history = train(cfg, train_split, test_split, device, out_dir=out)
    final = {**history[-1], "device": str(device), "wall_s": round(time.perf_counter() - start, 1)}
    save_checkpoint(model.cpu(), out, {"final": final, "preset": args.preset})
    print(f"done in {final['wall_s']:.0f}s: test accuracy {final['test_accuracy']:.4f}; checkpoint in {out}")
    return 0


def cmd_evaluate(args) -> int:
    ckpt = Path(args.checkpoint or Path(__file__).resolve().parent.parent / "pretrained" / args.dataset)
    model = load_checkpoint(ckpt)
    if model.cfg.dataset != args.dataset:
        raise CheckpointError(f"{ckpt} was trained on {model.cfg.dataset!r}, not {args.dataset!r}")
    device = pick_device(args.device)
    split = load_split(args.dataset, False, args.data_dir, args.download)
    m = evaluate(model.to(device), split, device)
    print(f"{args.dataset} test set ({len(split)} images), checkpoint {ckpt}:\n"
          f"  clean accuracy             {m['accuracy']:.4f}\n"
          f"  reconstruction error ‖x − x̂‖₂ {m['recon_error_l2']:.3f}  (mean per image)\n"
          f"  reconstruction NLL         {m['recon_nll']:.2f} nats per image")
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=1))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vacdemo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train a β-VAC (Algorithm 1, eq. 5)")
    add_data_args(p)
    p.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    p.add_argument("--capacity", type=float,
                   help="C, in nats per latent dimension (default: the paper's best, 1 for mnist, 10 for fmnist)")
    p.add_argument("--l1", type=float, help="ℓ1 penalty λ on the classifier weights")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--set", type=parse_override, action="append", metavar="FIELD=VALUE",
                   help="override any config field, e.g. --set optimizer=sgd --set milestones=5,7")
    p.add_argument("--out", help="checkpoint folder (default: runs/<dataset>-<preset>-C<capacity>)")
    p.set_defaults(run=cmd_train)
    p = sub.add_parser("evaluate", help="clean test accuracy and mean reconstruction error")
    add_data_args(p)
    p.add_argument("--checkpoint", help="checkpoint folder (default: pretrained/<dataset>)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.set_defaults(run=cmd_evaluate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DataNotFoundError, CheckpointError, ValueError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
