"""`bench`: PGD and training speed against torchattacks, and the fast path's exactness (vacdemo.perf.bench)."""
from __future__ import annotations

import json
from pathlib import Path

from ..config import PRESETS
from ..paper import TABLE_EPS
from ..paths import PRETRAINED
from .common import command


def cmd_bench(args) -> int:
    """Speed of PGD (against torchattacks) and training, and the fast path's exactness: one printed table."""
    import torch

    from ..data import load_split
    from ..device import pick_device
    from ..models.checkpoint import load_checkpoint
    from ..perf import bench
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
        from ..lab.gallery import load_gallery
        chosen, choice = bench.fastpath_rows(model, load_gallery(ckpt), device, args.repeats)
        print(f"\nthe attack path by batch size, measured (the server's choice; {name}):\n{choice}\n")
        if args.fastpath_only:
            rows += [{"device": name, **r} for r in chosen]
            continue
        found = [*chosen, *bench.pgd_rows(model, x, y, device, args.repeats), *bench.lever_rows(model, x, y, device, args.repeats),
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


def register(sub) -> None:
    p = command(sub, "bench", "PGD and training speed against torchattacks; the fast path's exactness", cmd_bench,
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
    p.add_argument("--fastpath-only", action="store_true",
                   help="only the attack path's measurement and its one-image row against torchattacks")
    p.add_argument("--json", help="also write the rows to this JSON file")
