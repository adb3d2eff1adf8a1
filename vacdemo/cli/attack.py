"""`attack`: robust accuracy and detection of a checkpoint over an ε grid (PGD, §6.1–6.2), as a table and files."""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from ..errors import SettingsError
from ..paper import TABLE_EPS
from .common import check_counts, checkpoint_for, command, detector_for


def print_table(rows: list[dict]) -> None:
    cols = [("eps", "ε", "{:.3f}"), ("robust_accuracy", "robust acc", "{:.3f}"), ("re_clean", "RE clean", "{:.3f}"),
            ("re_adv", "RE adv", "{:.3f}"), ("detection_accuracy", "det acc", "{:.3f}"),
            ("detection_auc", "AUC", "{:.3f}"), ("detection_tpr_at_5fpr", "TPR@5%FPR", "{:.3f}"),
            ("detection_tnr", "clean passed", "{:.3f}"), ("detection_accuracy_successful", "det acc, fooled only", "{:.3f}"),
            ("adaptive_success", "adaptive success", "{:.3f}")]
    cols = [(k, h, f, max(len(h), 5)) for k, h, f in cols if k in rows[0]]
    print("| " + " | ".join(h.rjust(w) for _, h, _, w in cols) + " |")
    print("|" + "|".join("-" * (w + 1) + ":" for *_, w in cols) + "|")
    for r in rows:
        print("| " + " | ".join(f.format(r[k]).rjust(w) for k, _, f, w in cols) + " |")


def cmd_attack(args) -> int:
    from ..attacks.evaluate import attack_table
    from ..attacks.pgd import EPS_LIMIT
    from ..data import load_split
    eps_grid = args.eps if args.eps is not None else TABLE_EPS[args.dataset]
    limit = EPS_LIMIT[args.norm]
    bad = [e for e in eps_grid if not 0 <= e <= limit]
    if bad:
        raise SettingsError(f"--eps {bad} out of range: ε must lie in [0, {limit:g}] for the ℓ{args.norm} norm")
    check_counts(n=args.n, n_fit=args.n_fit, steps=args.steps)
    ckpt, model = checkpoint_for(args.dataset, args.checkpoint)
    model.requires_grad_(False)  # attacks need input gradients only
    fit_eps = TABLE_EPS[args.dataset] if args.norm == "inf" else eps_grid
    detector, det_path = detector_for(model, ckpt, args, fit_eps, args.norm, args.steps, args.alpha)
    test = load_split(args.dataset, False, args.data_dir, args.download)
    n = min(args.n, len(test))
    start = time.perf_counter()
    rows = attack_table(model, detector, test, eps_grid, n=n, alpha=args.alpha, steps=args.steps,
                        norm=args.norm, adaptive=args.adaptive, lam=args.lam)
    wall = time.perf_counter() - start
    print(f"{args.dataset}, {n} test images, PGD-{args.steps} ℓ{args.norm}, α = {args.alpha or 'default'}, "
          f"checkpoint {ckpt}, detector τ = {detector.threshold:.3f} ({wall:.0f}s)")
    print_table(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"attack_{args.dataset}_{args.norm}"
    meta = {"dataset": args.dataset, "checkpoint": str(ckpt), "n": n, "steps": args.steps, "alpha": args.alpha,
            "norm": args.norm, "detector": str(det_path), "threshold": detector.threshold, "wall_s": round(wall, 1)}
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {stem}.csv and .json")
    return 0


def register(sub) -> None:
    p = command(sub, "attack", "robust accuracy and detection over an ε grid (PGD, §6.1–6.2)", cmd_attack,
                "dataset", "data", "checkpoint", "detector")
    p.add_argument("--eps", type=float, nargs="+",
                   help="ε grid (default: the paper's, mnist 0 … 0.3, fmnist 0 … 0.1)")
    p.add_argument("--n", type=int, default=1000, help="test images attacked (default 1000)")
    p.add_argument("--norm", choices=["inf", "2"], default="inf")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--alpha", type=float, help="step size (default: 0.01 for ℓ∞, 2.5·ε/steps for ℓ2)")
    p.add_argument("--adaptive", action="store_true", help="also run the detector-aware attack")
    p.add_argument("--lam", type=float, default=10.0, help="λ of the detector-aware attack")
    p.add_argument("--out", default="runs/attack", help="folder for the CSV and JSON (default runs/attack)")
