"""`evaluate` and `realset`: a checkpoint's clean accuracy, on the test set and on the real-picture set."""
from __future__ import annotations

import json
from pathlib import Path

from .common import checkpoint_for, command


def cmd_evaluate(args) -> int:
    from ..data import load_split
    from ..device import pick_device
    from ..datasets import CLASS_NAMES
    from ..training.evaluate import evaluate
    ckpt, model = checkpoint_for(args.dataset, args.checkpoint)
    device = pick_device(args.device)
    split = load_split(args.dataset, False, args.data_dir, args.download)
    m = evaluate(model.to(device), split, device, bf16=args.bf16, per_class=True)
    print(f"{args.dataset} test set ({len(split)} images), checkpoint {ckpt}, {'bf16 autocast' if args.bf16 else 'fp32'}:\n"
          f"  clean accuracy             {m['accuracy']:.4f}")
    if "recon_nll" in m:  # a β-VAC; a plain CNN has no decoder
        print(f"  reconstruction error ‖x − x̂‖₂ {m['recon_error_l2']:.3f}  (mean per image)\n"
              f"  reconstruction NLL         {m['recon_nll']:.2f} nats per image")
    print("  per class: " + ", ".join(f"{name} {a:.3f}" for name, a in zip(CLASS_NAMES[args.dataset], m["per_class"])))
    if args.json:
        Path(args.json).write_text(json.dumps(m, indent=1))
    return 0


def register_evaluate(sub) -> None:
    p = command(sub, "evaluate", "clean test accuracy and mean reconstruction error", cmd_evaluate,
                "dataset", "data", "device", "checkpoint")
    p.add_argument("--bf16", action="store_true", help="evaluate under bf16 autocast where native, as training "
                   "evaluates each epoch (metrics.json); default fp32, as the model card")
    p.add_argument("--json", help="also write the figures to this JSON file")


def cmd_realset(args) -> int:
    """Accuracy on the real-picture set (realset/<dataset>), per kind."""
    from ..datasets import CLASS_NAMES
    from ..lab.realset import realset_accuracy
    ckpt, model = checkpoint_for(args.dataset, args.checkpoint)
    rows = realset_accuracy(model, args.dataset)
    names = CLASS_NAMES[args.dataset]
    print(f"{args.dataset} real pictures, checkpoint {ckpt}:")
    for kind, r in rows.items():
        print(f"  {kind:<16} {r['accuracy'] * 100:5.1f} %  ({r['correct']} / {r['n']})")
    worst = sorted(rows["all"]["misread"].items(), key=lambda kv: -kv[1])[:8]
    if worst:
        print("most misread (true → read): " + ", ".join(f"{names[a]} → {names[b]} ×{n}" for (a, b), n in worst))
    return 0


def register_realset(sub) -> None:
    command(sub, "realset", "accuracy on the real-picture set, per kind", cmd_realset, "dataset", "checkpoint")


def register(sub) -> None:
    register_evaluate(sub)
    register_realset(sub)
