"""`reproduce`: the paper's capacity and ℓ1 sweeps and Fig. 5 (vacdemo.study), trained, measured and reported."""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from ..config import PRESETS
from ..errors import SettingsError
from ..paper import CAPACITIES
from .common import check_counts, command


def cmd_reproduce(args) -> int:
    """Train the paper's models, measure each, write the report (resumable)."""
    import torch

    from ..data import load_split
    from ..device import pick_device
    from ..study.reproduce import Settings, reproduce
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
    from ..study.report import write_report  # plotly: needed for the report only (GPU boxes may lack it)
    written = write_report(work, Path(args.out or Path("reports") / work.name), readme=args.readme and Path(args.readme))
    print("wrote " + ", ".join(map(str, written)))
    return 1 if failed else 0


def cmd_first_column(args) -> int:
    """Issue 31's experiments on Fashion-MNIST's first column: each arm over seeds, one model at a time (resumable)."""
    import torch

    from ..study.column import ARMS, CHEAP, run_arm
    from ..study.column_report import table
    arms = args.arms or CHEAP
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise SettingsError(f"unknown arm(s) {unknown}; choose from {sorted(ARMS)}")
    check_counts(seeds=args.seeds, n_test=args.n_test, steps=args.steps)
    work = Path(args.work)
    if not args.report_only:
        from ..data import load_split
        load_split("fmnist", True, args.data_dir, args.download)  # a missing data root: one clear line, up front
        from ..device import describe_device, pick_device
        device = pick_device(args.device)
        print(f"first-column experiments on {describe_device(device)} ({torch.get_num_threads()} threads), fp32 → {work}",
              flush=True)
        for seed in range(args.seeds):  # seed-major: every arm has a first seed before any has a third
            for name in arms:
                r = run_arm(ARMS[name], seed, work, n_test=args.n_test, steps=args.steps, data_dir=args.data_dir,
                            download=args.download, device=device, capacity=args.capacity)
                print(f"  {name:<11} seed {seed}: robust@0.025 {r['robust']['0.025']:.3f}, clean {r['clean_test']:.4f}",
                      flush=True)
    rows = table(work, {k: a.what for k, a in ARMS.items()})
    print(rows or "no baseline result yet")
    text = f"## Why is Fashion-MNIST's first column higher?\n\n{rows}\n" if rows else ""
    if args.study and Path(args.study).is_dir():  # item 3: capacity against robustness, clean accuracy held
        from ..study import confounds
        from ..study.findings import Study, load_measurements
        study = Study(load_measurements(Path(args.study)))
        for name in ("fmnist", "mnist"):
            part = confounds.table(study, name)
            if part:
                text += (f"\n## Capacity against robustness, {name}: raw and with clean accuracy held "
                         f"({args.study})\n\n{part}\n")
        print(text)
    if args.out and text:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    return 0


def cmd_screen(args) -> int:
    """Issue 30's levers, one at a time: short runs of the ship recipe, chosen on a validation split."""
    from ..study.screen import LEVERS, screen, table
    levers = args.levers or list(LEVERS[args.dataset])[:4]
    unknown = [x for x in levers if x not in LEVERS[args.dataset]]
    if unknown:
        raise SettingsError(f"unknown lever(s) {unknown} for {args.dataset}; choose from {sorted(LEVERS[args.dataset])}")
    if args.base != "ship" and args.base not in levers:
        raise SettingsError(f"--base {args.base} is not among the levers screened ({' '.join(levers)}): add it to --levers")
    check_counts(epochs=args.epochs)
    work = Path(args.work or f"runs/screen-{args.dataset}")
    rows = []
    for lever in levers:
        rows.append(screen(lever, work, dataset=args.dataset, epochs=args.epochs, data_dir=args.data_dir,
                           download=args.download))
        print(f"  {lever}: validation {rows[-1]['validation_accuracy']:.4f}, realset {rows[-1]['realset']['all']:.3f}",
              flush=True)
    print(table(rows, args.base))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table(rows, args.base) + "\n")
        print(f"wrote {args.out}")
    return 0


def register(sub) -> None:
    p = command(sub, "screen", "the model's levers one at a time: short runs chosen on a validation split", cmd_screen,
                "data")
    p.add_argument("--dataset", choices=["mnist", "fmnist"], default="mnist")
    p.add_argument("--levers", nargs="+", help="levers to screen, in order (mnist: ship elastic redraw "
                   "redraw+elastic by default, also wide, hidden-128 and hidden-256; fmnist: ship wide hidden-128 hidden-256 no-augment)")
    p.add_argument("--base", default="ship", help="the lever each row's paired difference is taken from (default ship)")
    p.add_argument("--epochs", type=int, default=8, help="epochs per screen (default 8; ramps and milestones scale)")
    p.add_argument("--work", help="models and results (default runs/screen-<dataset>)")
    p.add_argument("--out", help="also write the table to this markdown file")
    p = command(sub, "first-column", "why Fashion-MNIST's first column is higher than the paper's: one arm per "
                "suspect, over seeds", cmd_first_column, "data", "device")
    p.add_argument("--arms", nargs="+", help="arms to run, in order (default: the cheap ones; epochs-60 is long)")
    p.add_argument("--seeds", type=int, default=3, help="models per arm, seeds 0 … N−1 (default 3)")
    p.add_argument("--capacity", type=float, default=10.0, help="C of the trained arms (default 10, the paper's "
                   "best for Fashion-MNIST; others: the epochs-60 curves at C = 0.01 and 0.1)")
    p.add_argument("--n-test", type=int, default=1000, help="test images attacked per ε (default 1000)")
    p.add_argument("--steps", type=int, default=40, help="PGD steps (default 40)")
    p.add_argument("--work", default="reports/first-column/data",
                   help="models and results (default reports/first-column/data: the results and curves are committed, "
                        "the models and training states stay local)")
    p.add_argument("--out", help="also write the table to this markdown file")
    p.add_argument("--report-only", action="store_true", help="only print the table from --work's results")
    p.add_argument("--study", default="reports/cpu-fast/data",
                   help="the committed CPU study whose capacity sweep is read with clean accuracy held (item 3)")
    p = command(sub, "reproduce", "the paper's capacity and ℓ1 sweeps and Fig. 5, as one report", cmd_reproduce,
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
                   "(docs/reproduction.md: the findings table is never written by hand)")
    p.add_argument("--report-only", action="store_true", help="only rewrite the report from --work's measurements")
    p.add_argument("--no-report", action="store_true", help="train and measure only (a machine without plotly)")
