"""`python -m vacdemo train|evaluate|realset|attack|assets|card|bench|reproduce`: argparse → device → data → model → train / evaluate / attack.

Each command reads its arguments and calls package functions with plain values. The package's own errors
(vacdemo.errors.VacdemoError: a bad setting, file or data folder) print as one line; anything else is a bug
and keeps its traceback.
"""
import argparse
import csv
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import torch

from . import bench
from .atlas import build_atlas, save_atlas
from .attack import EPS_LIMIT
from .checkpoint import PRETRAINED, CheckpointError, load_checkpoint, save_checkpoint
from .serving import RIVALS
from .config import PRESETS, flat, preset
from .data import DATASETS, load_split
from .detector import Detector
from .device import pick_device
from .errors import SettingsError, VacdemoError
from .evaluate import evaluate
from .evaluate_attacks import attack_table, load_or_fit_detector
from .gallery import build_gallery, save_gallery
from .model import BetaVAC
from .paper import CAPACITIES, TABLE_EPS
from .realset import realset_accuracy
from .train import train


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


def checkpoint_for(dataset: str, checkpoint: str | None) -> tuple[Path, BetaVAC]:
    """--checkpoint (default pretrained/<dataset>) and its model, checked to be for --dataset."""
    ckpt = Path(checkpoint or PRETRAINED / dataset)
    model = load_checkpoint(ckpt)
    if model.cfg.dataset != dataset:
        raise CheckpointError(f"{ckpt} was trained on {model.cfg.dataset!r}, not {dataset!r}")
    return ckpt, model


def check_counts(**counts) -> None:
    bad = {k: v for k, v in counts.items() if v is not None and v < 1}
    if bad:
        raise SettingsError(", ".join(f"--{k.replace('_', '-')} must be ≥ 1 (got {v})" for k, v in bad.items()))


# --model: what is trained. The adversarially trained CNN defends at the data set's usual ε (Madry et al.: MNIST
# 0.3; Fashion-MNIST 0.1) with PGD-3 from a random start, step ε/3, ε warmed up over 3 epochs: FGSM from a random
# start (--set adv_steps=1) overfit catastrophically on MNIST at 0.3 (README, "Compare models").
MODELS = {"vac": {}, "cnn": {"kind": "cnn"}, "adv": {"kind": "cnn", "adv_ramp_epochs": 3.0, "adv_steps": 3}}
ADV_EPS = {"mnist": 0.3, "fmnist": 0.1}
WATCH_N = 500  # the LAST test images: the per-epoch PGD and FGSM accuracy (and the epoch kept), apart from the
# first ones the card and the tests report on


def epoch_robustness(test_split, eps: float, device: torch.device):
    """on_epoch for train(): PGD-40 (the paper's α = 0.01) and FGSM accuracy at eps on the last WATCH_N test
    images. Catastrophic overfitting shows as PGD accuracy collapsing while FGSM's stays high."""
    from .attack import fgsm, pgd
    from .model import eval_mode
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
    named = dict(dataset=args.dataset, capacity=args.capacity, l1=args.l1, epochs=args.epochs, seed=args.seed,
                 batch_size=args.batch_size)
    kind = dict(MODELS[args.model])
    if args.model == "adv":
        kind.update(adv_eps=ADV_EPS[args.dataset], adv_alpha=round(ADV_EPS[args.dataset] / 3, 6))
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
    final = {**kept, "device": str(device), "threads": torch.get_num_threads(),
             "wall_s": round(time.perf_counter() - start, 1), "command": args.command_line}
    save_checkpoint(model.cpu(), out, {"final": final, "preset": args.preset})
    print(f"done in {final['wall_s']:.0f}s: test accuracy {final['test_accuracy']:.4f}; checkpoint in {out}")
    return 0


def cmd_evaluate(args) -> int:
    ckpt, model = checkpoint_for(args.dataset, args.checkpoint)
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


def cmd_realset(args) -> int:
    """Accuracy on the real-picture set (realset/<dataset>), per kind."""
    ckpt, model = checkpoint_for(args.dataset, args.checkpoint)
    rows = realset_accuracy(model, args.dataset)
    print(f"{args.dataset} real pictures, checkpoint {ckpt}:")
    for kind, r in rows.items():
        print(f"  {kind:<16} {r['accuracy'] * 100:5.1f} %  ({r['correct']} / {r['n']})")
    return 0


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


def detector_for(model, ckpt: Path, args, fit_eps: list[float], norm: str = "inf", steps: int = 40,
                 alpha: float | None = None) -> tuple[Detector, Path]:
    """The detector beside the checkpoint (vacdemo.evaluate_attacks.load_or_fit_detector), with --refit/--n-fit."""
    return load_or_fit_detector(model, ckpt, lambda: load_split(args.dataset, True, args.data_dir, args.download),
                                fit_eps, norm=norm, steps=steps, alpha=alpha, n_fit=args.n_fit, refit=args.refit)


def cmd_attack(args) -> int:
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


def cmd_assets(args) -> int:
    """The app's files beside a checkpoint: the ℓ∞ detector (fitted if missing), a gallery of test images and
    the latent map (atlas)."""
    if args.n < 100:
        raise SettingsError(f"--n must be ≥ 100 (the map needs every class), got {args.n}")
    check_counts(per_class=args.per_class, n_fit=args.n_fit)
    ckpt, model = checkpoint_for(args.dataset, args.checkpoint)
    model.requires_grad_(False)
    detector_for(model, ckpt, args, TABLE_EPS[args.dataset])
    test = load_split(args.dataset, False, args.data_dir, args.download)
    print(f"wrote {save_gallery(build_gallery(test, args.per_class), ckpt)}")
    print(f"wrote {save_atlas(build_atlas(model, test, args.n), ckpt)}")
    return 0


def cmd_card(args) -> int:
    """Measure the shipped checkpoints and rewrite the tables of the model card (pretrained/README.md)."""
    from .study.card import card_section, fill
    folder = Path(args.pretrained)
    if not 0 < args.n <= 10_000 - WATCH_N:  # the card's first images stay apart from the epoch-choosing last ones
        raise SettingsError(f"--n must lie in 1 … {10_000 - WATCH_N}, got {args.n}")
    sections = []
    for name in args.datasets:
        model = load_checkpoint(folder / name).requires_grad_(False)
        detector = Detector.load(folder / name / "detector_inf.json")
        test = load_split(name, False, args.data_dir, args.download)
        print(f"measuring {folder / name} …")
        sections.append(card_section(model, detector, test, min(args.n, len(test))))
        rivals = {label: folder / f"{name}-{kind}" for kind, label in RIVALS.items()}
        if all((f / "config.json").exists() for f in rivals.values()):  # the comparison, where it is shipped
            from .study.rivals import comparison_section
            models = {"β-VAC": model, **{k: load_checkpoint(f).requires_grad_(False) for k, f in rivals.items()}}
            print(f"measuring the comparison for {name} …")
            sections.append(comparison_section(models, name, test, min(args.n, len(test)), folder / name))
    card = folder / "README.md"
    card.write_text(fill(card.read_text() if card.exists() else "# Pretrained checkpoints\n", sections))
    print(f"wrote the tables of {card}:\n\n" + "\n".join(sections))
    return 0


def cmd_bench(args) -> int:
    """Speed of PGD (against torchattacks) and training, and the fast path's exactness: one printed table."""
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if args.device != "cpu" and torch.cuda.is_available()
                                       else [])
    if args.device == "cuda":
        devices = [pick_device("cuda")]
    ckpt = Path(args.checkpoint or PRETRAINED / "mnist")
    test = load_split("mnist", False, args.data_dir, args.download)
    rows = []
    for device in devices:
        model = load_checkpoint(ckpt).to(device)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
            f"CPU, {torch.get_num_threads()} threads"
        shape = model.cfg.shape
        print(f"benchmarking on {name}: {ckpt} ({shape.width1}/{shape.width2} channels) …")
        x, y = (t.to(device) for t in test.batch(slice(0, args.batch)))
        found = [*bench.pgd_rows(model, x, y, device, args.repeats), *bench.lever_rows(model, x, y, device, args.repeats),
                 *bench.batch_rows(model, x, y, device, args.repeats), *bench.layout_rows(model, x, y, device, args.repeats),
                 *(bench.compare_rows(device, args.repeats) if device.type == "cpu" else []),
                 *bench.train_rows(device, args.repeats, args.presets),
                 *bench.exactness_rows(model, test, TABLE_EPS["mnist"], args.n, device)]
        if device.type == "cpu":
            found.append(bench.cold_start_row())
        rows += [{"device": name, **r} for r in found]
    print("\n" + bench.format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def cmd_loadtest(args) -> int:
    """N students over the app's websocket, for each (students, mode): one table (vacdemo.loadtest)."""
    from . import loadtest
    rows = []
    for users in args.users:
        for mode in args.mode:
            print(f"{users} student(s), {mode} …", flush=True)
            row = loadtest.loadtest(users, mode, args.inputs, args.period, args.url, args.port, args.timeout)
            rows.append(row)
            for e in row["errors"][:10]:
                print("  error:", e)
    print("\n" + loadtest.table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 1 if any(r["errors"] for r in rows) else 0


def cmd_serve(args) -> int:
    """n Streamlit replicas behind nginx with sticky sessions (vacdemo.replicas)."""
    from . import replicas
    return replicas.serve(args.replicas, args.port, Path(args.work), args.host)


def cmd_reproduce(args) -> int:
    """Train the paper's models, measure each, write the report (resumable)."""
    from .study.reproduce import Settings, reproduce
    datasets = ["mnist", "fmnist"] if args.dataset == "all" else [args.dataset]
    device = pick_device(args.device)
    name = args.preset or ("paper" if device.type == "cuda" else "fast")
    epochs = PRESETS[name].epochs if args.epochs is None else args.epochs
    check_counts(epochs=epochs, n_test=args.n_test, n_fit=args.n_fit, steps=args.steps,
                 train_images=args.train_images, jobs=args.jobs, seeds=args.seeds)
    if args.ray_address and args.backend != "ray":
        raise SettingsError("--ray-address goes with --backend ray")
    if args.second_opinion < 0:
        raise SettingsError(f"--second-opinion must be ≥ 0, got {args.second_opinion}")
    if any(c <= 0 for c in args.capacities):
        raise SettingsError(f"--capacities must be > 0, got {args.capacities}")
    capacities = sorted(set(args.capacities))
    if any(lam <= 0 for lam in args.extra_l1):
        raise SettingsError(f"--extra-l1 values must be > 0, got {args.extra_l1}")
    work = Path(args.work or f"runs/reproduce/{name}-e{epochs}-n{args.n_test}"
                f"{f'-t{args.train_images}' if args.train_images else ''}")
    failed = []
    if not args.report_only:
        jobs = args.jobs if args.jobs is not None else (8 if device.type == "cuda" else max(1, torch.get_num_threads()))
        # absolute: a Ray task on another node resolves relative paths against its own working directory
        s = Settings(preset=name, epochs=epochs, n_test=args.n_test, n_fit=args.n_fit, steps=args.steps,
                     device=str(device), jobs=jobs, work=str(work.resolve()),
                     data_dir=args.data_dir and str(Path(args.data_dir).resolve()), download=args.download,
                     train_images=args.train_images, seeds=args.seeds, extra_l1=tuple(args.extra_l1),
                     second=args.second_opinion, l1_sweep=args.l1_sweep, backend=args.backend,
                     ray_address=args.ray_address or os.environ.get("RAY_ADDRESS"))
        # checked here, in this process, so that a missing data root is one clear line
        for d in datasets:
            load_split(d, False, args.data_dir, args.download)
        print(f"reproducing on {device} with the {name} preset, {epochs} epochs, {jobs} job(s) → {work}")
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed study records its part too
        try:
            results = reproduce(datasets, capacities, s, command=args.command_line)
        finally:
            signal.signal(signal.SIGTERM, previous)
        failed = [r for r in results if r["status"].startswith("failed")]
        for r in results:
            took = f" in {r['wall_s'] / 60:.1f} min" if "wall_s" in r else ""
            print(f"  {r['run']:<28} {r['status']}{took}")
        if failed:
            print(f"error: {len(failed)} model(s) failed (their log.txt under {work} says why); the report covers the rest",
                  file=sys.stderr)
    if args.no_report:
        return 1 if failed else 0
    from .study.report import write_report  # plotly: needed for the report only (GPU boxes may lack it)
    written = write_report(work, Path(args.out or Path("reports") / work.name), readme=args.readme and Path(args.readme))
    print("wrote " + ", ".join(map(str, written)))
    return 1 if failed else 0


def parents() -> dict[str, argparse.ArgumentParser]:
    """The arguments several commands share, each group defined once."""
    def parent() -> argparse.ArgumentParser:
        return argparse.ArgumentParser(add_help=False)
    data = parent()
    data.add_argument("--data-dir", help="data root (default: $VACDEMO_DATA, else ./data)")
    data.add_argument("--download", action="store_true", help="let torchvision download missing data")
    dataset = parent()
    dataset.add_argument("--dataset", choices=sorted(DATASETS), required=True)
    device = parent()
    device.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    checkpoint = parent()
    checkpoint.add_argument("--checkpoint", help="checkpoint folder (default: pretrained/<dataset>)")
    detector = parent()
    detector.add_argument("--refit", action="store_true", help="refit the detector even if the folder has one")
    detector.add_argument("--n-fit", type=int, default=1000, help="training images for the detector (default 1000)")
    return {"data": data, "dataset": dataset, "device": device, "checkpoint": checkpoint, "detector": detector}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vacdemo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    g = parents()

    def command(name: str, help: str, run, *groups: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, parents=[g[k] for k in groups])
        p.set_defaults(run=run)
        return p

    p = command("train", "train a β-VAC (Algorithm 1, eq. 5), a plain CNN or an adversarially trained CNN", cmd_train,
                "dataset", "data", "device")
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

    p = command("loadtest", "N students at once over the app's websocket: time to the verdict, CPU, memory",
                cmd_loadtest)
    p.add_argument("--users", type=int, nargs="+", default=[1, 10, 30], help="students per run (default 1 10 30)")
    p.add_argument("--mode", nargs="+", choices=["steady", "burst"], default=["steady", "burst"],
                   help="steady: each student a new input every ~--period s; burst: all at the same moment")
    p.add_argument("--inputs", type=int, default=2, help="new images per student after opening the page (default 2)")
    p.add_argument("--period", type=float, default=5.0, help="steady: seconds between a student's inputs (default 5)")
    p.add_argument("--url", help="drive this server (e.g. nginx in front of replicas) instead of starting one")
    p.add_argument("--port", type=int, default=8599, help="loopback port of the server it starts (default 8599)")
    p.add_argument("--timeout", type=float, default=120, help="seconds one page run may take (default 120)")
    p.add_argument("--json", help="also write the rows here")

    p = command("serve", "n replicas of the app behind nginx, one port, sticky sessions", cmd_serve)
    p.add_argument("--replicas", type=int, default=2, help="Streamlit servers (default 2)")
    p.add_argument("--port", type=int, default=8500, help="nginx's port; replicas take the next ones (default 8500)")
    p.add_argument("--host", default="127.0.0.1", help="nginx's address (0.0.0.0: reachable from the classroom)")
    p.add_argument("--work", default="runs/serve", help="nginx config, pid and logs (default runs/serve)")

    p = command("evaluate", "clean test accuracy and mean reconstruction error", cmd_evaluate,
                "dataset", "data", "device", "checkpoint")
    p.add_argument("--json", help="also write the figures to this JSON file")

    command("realset", "accuracy on the real-picture set, per kind", cmd_realset, "dataset", "checkpoint")

    p = command("attack", "robust accuracy and detection over an ε grid (PGD, §6.1–6.2)", cmd_attack,
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

    p = command("assets", "the app's detector, gallery and latent map beside a checkpoint", cmd_assets,
                "dataset", "data", "checkpoint", "detector")
    p.add_argument("--per-class", type=int, default=8, help="gallery images per class (default 8)")
    p.add_argument("--n", type=int, default=2000, help="test images in the latent map (default 2000)")

    p = command("card", "measure the shipped checkpoints and rewrite the model card's tables", cmd_card, "data")
    p.add_argument("--dataset", dest="datasets", nargs="+", choices=sorted(DATASETS), default=["mnist", "fmnist"])
    p.add_argument("--n", type=int, default=500, help="test images attacked per ε (default 500)")
    p.add_argument("--pretrained", default=str(PRETRAINED), help="folder of the checkpoints and the card")

    p = command("bench", "PGD and training speed against torchattacks; the fast path's exactness", cmd_bench,
                "data")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: the CPU, and the GPU too when there is one")
    p.add_argument("--checkpoint", help="checkpoint folder (default: pretrained/mnist)")
    p.add_argument("--repeats", type=int, default=7, help="timed runs per row, after 2 warm-up runs (default 7)")
    p.add_argument("--batch", type=int, default=256, help="batch for the throughput row (default 256)")
    p.add_argument("--n", type=int, default=1000, help="test images for the exactness rows (default 1000)")
    p.add_argument("--threads", type=int, help="torch threads on the CPU (default: torch's)")
    p.add_argument("--presets", nargs="*", choices=sorted(PRESETS), default=["fast", "paper"],
                   help="presets whose training throughput to measure (default: fast paper)")
    p.add_argument("--json", help="also write the rows to this JSON file")

    p = command("reproduce", "the paper's capacity and ℓ1 sweeps and Fig. 5, as one report", cmd_reproduce,
                "data", "device")
    p.add_argument("--dataset", choices=["mnist", "fmnist", "all"], default="all")
    p.add_argument("--preset", choices=sorted(PRESETS), help="default: paper on a GPU, fast on a CPU")
    p.add_argument("--epochs", type=int, help="epochs per model (default: the preset's); lr milestones and the "
                                              "capacity ramp scale with it")
    p.add_argument("--n-test", type=int, default=1000, help="test images attacked per ε (default 1000)")
    p.add_argument("--n-fit", type=int, default=1000, help="training images for each detector (default 1000)")
    p.add_argument("--steps", type=int, default=40, help="PGD steps (default 40, the paper's)")
    p.add_argument("--train-images", type=int, help="train on the first N training images only (quick looks)")
    p.add_argument("--extra-l1", type=float, nargs="+", default=[], metavar="λ",
                   help="ℓ1 strengths beyond the paper's, at the best capacity, seed 0 (where ℓ1 changes the weights)")
    p.add_argument("--second-opinion", type=int, default=0, metavar="N",
                   help="also attack N test images of the λ = 0 models at the best capacity with APGD, Square and "
                        "the raw-gradient PGD (default 0: none; the committed report used 500)")
    p.add_argument("--l1-sweep", action=argparse.BooleanOptionalAction, default=True,
                   help="the paper's ℓ1 sweep at the best capacity (default: on)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local: here, or a process pool with --jobs > 1; ray: one Ray task per model "
                        "(pip install -r requirements-ray.txt)")
    p.add_argument("--ray-address", help="a running Ray cluster (e.g. auto, ray://host:10001; default: $RAY_ADDRESS, "
                   "else a local Ray instance with --jobs tasks at once). The data and --work must be on storage "
                   "every node shares")
    p.add_argument("--seeds", type=int, default=1, help="models per setting, from seeds 0 … N−1 (default 1; "
                   "the verdicts need ≥ 3 to weigh the seed-to-seed spread)")
    p.add_argument("--capacities", type=float, nargs="+", default=CAPACITIES,
                   help="capacities of the sweep (default 0.01 0.1 1 10)")
    p.add_argument("--jobs", type=int, help="models trained at once, each in its own process "
                                            "(default: 8 on a GPU, one per core on a CPU)")
    p.add_argument("--work", help="folder for the models and measurements "
                                  "(default runs/reproduce/<preset>-e<epochs>-n<n-test>)")
    p.add_argument("--out", help="folder for the report (default reports/<the work folder's name>)")
    p.add_argument("--readme", metavar="FILE", help="also write the verdicts table into FILE's findings block "
                   "(README.md: the README's table is never written by hand)")
    p.add_argument("--report-only", action="store_true", help="only rewrite the report from --work's measurements")
    p.add_argument("--no-report", action="store_true", help="train and measure only (a machine without plotly)")
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = "python -m vacdemo " + shlex.join(argv)  # recorded in checkpoints
    try:
        return args.run(args)
    except VacdemoError as e:  # the package's own errors: one line; anything else is a bug, with its traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
