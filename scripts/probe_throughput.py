"""Aggregate training throughput of J β-VACs training at once on one device (how the GPU report's epochs
were sized): python scripts/probe_throughput.py --preset paper --jobs 8 --device cuda."""
import argparse
import time
from multiprocessing import get_context

import torch


def worker(args):
    preset_name, device, steps, barrier = args
    from vacdemo.config import preset
    from vacdemo.models.vac import build_model
    from vacdemo.training.train import make_optimizer, train_step
    cfg = preset(preset_name, dataset="mnist")
    device = torch.device(device)
    model = build_model(cfg).to(device, memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model)
    x = torch.rand(cfg.batch_size, 1, 28, 28, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (cfg.batch_size,), device=device)
    for _ in range(10):  # warm-up: cuDNN picks its kernels
        train_step(model, opt, cfg, x, y, 1.0, cfg.beta, device)
    torch.cuda.synchronize() if device.type == "cuda" else None
    barrier.wait()
    start = time.perf_counter()
    for _ in range(steps):
        train_step(model, opt, cfg, x, y, 1.0, cfg.beta, device)
    torch.cuda.synchronize() if device.type == "cuda" else None
    return steps * cfg.batch_size / (time.perf_counter() - start)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="paper")
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--device", default="cuda")
    p.add_argument("--steps", type=int, default=60)
    a = p.parse_args()
    ctx = get_context("spawn")
    barrier = ctx.Manager().Barrier(a.jobs)
    with ctx.Pool(a.jobs) as pool:
        rates = pool.map(worker, [(a.preset, a.device, a.steps, barrier)] * a.jobs)
    print(f"{a.jobs} × {a.preset} on {a.device}: {sum(rates):.0f} images/s together "
          f"({min(rates):.0f}–{max(rates):.0f} each)")
    print(f"AGGREGATE={sum(rates):.0f}")
