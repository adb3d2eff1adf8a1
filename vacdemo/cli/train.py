"""`train`: a β-VAC, a plain CNN or an adversarially trained CNN, saved as a checkpoint."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..config import PRESETS, flat, preset
from ..datasets import EPS_MAX
from .common import WATCH_N, command

# --model: what is trained. The adversarially trained CNN defends at the data set's usual ε (Madry et al.: MNIST
# 0.3; Fashion-MNIST 0.1) with PGD-3 from a random start, step ε/3, ε warmed up over 3 epochs: FGSM from a random
# start (--set adv_steps=1) overfit catastrophically on MNIST at 0.3 (docs/lab.md, "Compare models").
MODELS = {"vac": {}, "cnn": {"kind": "cnn"}, "adv": {"kind": "cnn", "adv_ramp_epochs": 3.0, "adv_steps": 3}}


def parse_override(text: str) -> tuple[str, object]:
    """'field=value' → (field, value typed like the field's default); the shape's fields by name too."""
    key, sep, raw = text.partition("=")
    defaults = flat(PRESETS["paper"])
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


def epoch_robustness(test_split, eps: float, device):
    """on_epoch for train(): PGD-40 (the paper's α = 0.01) and FGSM accuracy at eps on the last WATCH_N test
    images. Catastrophic overfitting shows as PGD accuracy collapsing while FGSM's stays high."""
    import torch

    from ..attacks.pgd import fgsm, pgd
    from ..models.vac import eval_mode
    x, y = (t.to(device) for t in test_split.batch(slice(len(test_split) - WATCH_N, len(test_split))))

    def read(model) -> dict:
        with eval_mode(model):
            accs = {}
            for name, x_adv in (("pgd", pgd(model, x, y, eps=eps)), ("fgsm", fgsm(model, x, y, eps=eps))):
                with torch.no_grad():
                    accs[f"test_{name}_acc"] = (model.classify(x_adv).argmax(1) == y).float().mean().item()
        return accs
    return read


def cmd_train(args) -> int:
    import torch

    from ..data import load_split
    from ..device import pick_device
    from ..models.checkpoint import save_checkpoint
    from ..training.train import drop_resume, train
    named = dict(dataset=args.dataset, capacity=args.capacity, l1=args.l1, epochs=args.epochs, seed=args.seed,
                 batch_size=args.batch_size)
    kind = dict(MODELS[args.model])
    if args.model == "adv":
        kind.update(adv_eps=EPS_MAX[args.dataset], adv_alpha=round(EPS_MAX[args.dataset] / 3, 6))
    cfg = preset(args.preset, **{**kind, **dict(args.set or []), **{k: v for k, v in named.items() if v is not None}})
    device = pick_device(args.device)
    suffix = "" if args.model == "vac" else f"-{args.model}"
    out = Path(args.out or f"runs/{cfg.dataset}-{args.preset}-C{cfg.capacity:g}{suffix}")
    train_split = load_split(cfg.dataset, True, args.data_dir, args.download)
    test_split = load_split(cfg.dataset, False, args.data_dir, args.download)
    print(f"training {args.preset} preset, model {args.model}, on {cfg.dataset} ({device}, "
          f"{torch.get_num_threads()} threads) → {out}")
    start = time.perf_counter()
    watch = epoch_robustness(test_split, cfg.adv_eps, device) if cfg.adv_eps else None
    model, history = train(cfg, train_split, test_split, device, out_dir=out, on_epoch=watch,
                           select="test_pgd_acc" if watch else None)
    if watch is not None:
        chosen = next(r for r in history if r.get("selected"))
        collapsed = [r["epoch"] for r in history if r["test_pgd_acc"] < chosen["test_pgd_acc"] / 2
                     and r["test_fgsm_acc"] > 0.5 and r["epoch"] > chosen["epoch"]]
        print(f"kept epoch {chosen['epoch']} (PGD-40 accuracy {chosen['test_pgd_acc']:.3f} on the watch images)" +
              (f"; catastrophic overfitting after it: PGD accuracy collapsed while FGSM's stayed high at epochs "
               f"{collapsed}" if collapsed else ""))
    kept = next((r for r in history if r.get("selected")), history[-1])  # the model saved: its epoch's row
    # a resumed run's rows count the time of the runs before it: the card's "train loop" is all of it
    wall = max(time.perf_counter() - start, history[-1]["wall_s"])
    final = {**kept, "device": str(device), "threads": torch.get_num_threads(),
             "wall_s": round(wall, 1), "command": args.command_line}
    save_checkpoint(model.cpu(), out, {"final": final, "preset": args.preset})
    drop_resume(out)
    print(f"done in {final['wall_s']:.0f}s: test accuracy {final['test_accuracy']:.4f}; checkpoint in {out}")
    return 0


def register(sub) -> None:
    p = command(sub, "train", "train a β-VAC (Algorithm 1, eq. 5), a plain CNN or an adversarially trained CNN",
                cmd_train, "dataset", "data", "device")
    p.add_argument("--preset", choices=sorted(PRESETS), default="paper")
    p.add_argument("--model", choices=sorted(MODELS), default="vac",
                   help="vac: the β-VAC; cnn: its encoder and classifier on cross-entropy alone; adv: that CNN "
                        "adversarially trained (PGD-3 from a random start at MNIST 0.3, Fashion-MNIST 0.1)")
    p.add_argument("--capacity", type=float,
                   help="C, in nats per latent dimension (default: the paper's best, 1 for mnist, 10 for fmnist)")
    p.add_argument("--l1", type=float, help="ℓ1 penalty λ on the classifier weights")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--set", type=parse_override, action="append", metavar="FIELD=VALUE",
                   help="override any config field, e.g. --set optimizer=sgd --set milestones=5,7")
    p.add_argument("--out", help="checkpoint folder (default: runs/<dataset>-<preset>-C<capacity>)")
