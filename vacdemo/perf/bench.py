"""`python -m vacdemo bench`: PGD and training speed, side by side with torchattacks in the same run.

Every timing is the median of `repeats` runs after two warm-up runs, on one device, so the ratios compare like
with like. The last rows check that the fast path (bf16 where native) loses no attack strength.
"""
import copy
import statistics
import subprocess
import sys
import time

import torch

from ..attacks.pgd import pgd
from ..config import preset
from ..data import Split
from ..device import bf16_native
from ..models.vac import BetaVAC, Classify, build_model, eval_mode
from ..training.train import make_optimizer, train_step


def median_ms(fn, device: torch.device, repeats: int) -> float:
    """Median wall time of fn() in ms, after two warm-up calls; waits for the GPU before reading the clock."""
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()
    for _ in range(2):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def pgd_rows(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, device: torch.device, repeats: int) -> list[dict]:
    """Ours against torchattacks.PGD (random start off, as ours) on one image, an ε-grid and a batch."""
    import torchattacks  # a test dependency: only the bench and the oracle tests need it
    grid = torch.linspace(0, 0.3, 16, device=device)

    def theirs(eps):
        return torchattacks.PGD(Classify(model), eps=eps, alpha=0.01, steps=40, random_start=False)
    one, xs, ys = x[:1], x[:1].expand(16, -1, -1, -1).contiguous(), y[:1].expand(16)
    rows = []
    ours_ms = median_ms(lambda: pgd(model, one, y[:1], eps=0.3), device, repeats)
    atk = theirs(0.3)
    theirs_ms = median_ms(lambda: atk(one, y[:1]), device, repeats)
    rows.append(dict(what="PGD-40 ℓ∞, one image (ms)", ours=ours_ms, torchattacks=theirs_ms))
    attacks = [theirs(float(e)) for e in grid]
    ours_ms = median_ms(lambda: pgd(model, xs, ys, eps=grid), device, repeats)
    theirs_ms = median_ms(lambda: [a(one, y[:1]) for a in attacks], device, max(1, repeats // 3))
    rows.append(dict(what="PGD-40 ℓ∞, 16-value ε-grid of one image (ms)", ours=ours_ms, torchattacks=theirs_ms,
                     note="ours: one batched call (per-sample ε); torchattacks: 16 calls"))
    ours_ms = median_ms(lambda: pgd(model, x, y, eps=0.3), device, max(1, repeats // 3))
    theirs_ms = median_ms(lambda: atk(x, y), device, max(1, repeats // 3))
    rows.append(dict(what=f"PGD-40 ℓ∞, batch of {len(x)} (images/s)", ours=len(x) / ours_ms * 1000,
                     torchattacks=len(x) / theirs_ms * 1000, higher_is_better=True))
    return rows


def lever_rows(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, device: torch.device, repeats: int) -> list[dict]:
    """One image's PGD-40 through each lever of vacdemo.perf.levers, against torchattacks.PGD in the same run; each
    checked against the plain fp32 path (the largest pixel difference)."""
    import torchattacks
    from . import levers
    one, y1 = x[:1].contiguous(), y[:1]
    eps, alpha = (torch.full((1, 1, 1, 1), v, device=device) for v in (0.3, 0.01))
    atk = torchattacks.PGD(Classify(model), eps=0.3, alpha=0.01, steps=40, random_start=False)
    oracle = pgd(model, one, y1, eps=0.3, fast=False)
    builds = {"plain path, fp32": lambda: lambda *a: pgd(model, one, y1, eps=0.3, fast=False),
              "plain path, fast (folded, bf16 where native)": lambda: lambda *a: pgd(model, one, y1, eps=0.3),
              "torch.compile of one step (torch.func.grad)": lambda: levers.compiled_step(model),
              "torch.compile of all 40 steps, one graph": lambda: levers.compiled_steps(model)}
    if device.type == "cpu":
        builds["ONNX Runtime, the step with its gradient exported"] = lambda: levers.onnx_step(model, one, y1, eps, alpha)
    rows = []
    for what, build in builds.items():
        start = time.perf_counter()
        try:
            attack = build()
            x_adv = attack(one, y1, eps, alpha)  # the first call compiles
        except Exception as e:  # noqa: BLE001  a lever that cannot run here is a measured result too
            rows.append(dict(what=f"PGD-40, one image: {what}: not available ({type(e).__name__})", ours=float("nan"),
                             torchattacks=float("nan")))
            continue
        ready_s = time.perf_counter() - start
        ms = median_ms(lambda: attack(one, y1, eps, alpha), device, repeats)
        theirs_ms = median_ms(lambda: atk(one, y1), device, repeats)  # beside each lever: the machine drifts
        diff = (x_adv.float().cpu() - oracle.cpu()).abs().max().item()
        rows.append(dict(what=f"PGD-40, one image: {what} (ms; build {ready_s:.0f} s, max |Δ| {diff:.0e})", ours=ms,
                         torchattacks=theirs_ms))
    return rows


def batch_rows(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, device: torch.device, repeats: int) -> list[dict]:
    """PGD-40 on batches of 1 … 32 images, fast path (folded, bf16 where native) against plain fp32: where the
    fast path starts to pay (vacdemo.serving.lab picks per batch)."""
    rows = []
    for b in (1, 2, 4, 8, 32):
        xs, ys = x[:b].contiguous(memory_format=torch.channels_last), y[:b]
        fast = median_ms(lambda: pgd(model, xs, ys, eps=0.3), device, max(1, repeats // 2))
        plain = median_ms(lambda: pgd(model, xs, ys, eps=0.3, fast=False), device, max(1, repeats // 2))
        rows.append(dict(what=f"PGD-40 ℓ∞, batch of {b}: fast path against plain fp32 (ms)", ours=fast, fp32=plain))
    return rows


def compare_rows(device: torch.device, repeats: int) -> list[dict]:
    """The app's comparison for one input: the three models' 21-value ε-grids (one batched PGD-40 call each) and
    the readings, where the rivals are shipped (goal: ≤ 1.5 s on 2 cores)."""
    from ..serving import lab as serving
    rows = []
    for name in ("mnist", "fmnist"):
        if not serving.load_rivals(name):
            continue
        lab = serving.load_lab(name)
        x, y = lab.gallery.image(0).numpy(), int(lab.gallery.labels[0])
        ms = median_ms(lambda: serving.comparison(name, x, y, 40, None), device, max(1, repeats // 2))
        rows.append(dict(what=f"comparison, {name}: 3 models × 21-value ε-grid of one image (ms)", ours=ms))
    return rows


def layout_rows(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, device: torch.device, repeats: int) -> list[dict]:
    """PGD-40 on one image with the weights in channels_last (what load_checkpoint gives) and contiguous."""
    contiguous = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    one, y1 = x[:1].contiguous(memory_format=torch.channels_last), y[:1]
    last_ms = median_ms(lambda: pgd(model, one, y1, eps=0.3), device, repeats)
    plain_ms = median_ms(lambda: pgd(contiguous, one.contiguous(), y1, eps=0.3), device, repeats)
    return [dict(what="PGD-40 ℓ∞, one image, channels_last (ms)", ours=last_ms, contiguous=plain_ms)]


def train_rows(device: torch.device, repeats: int, presets=("fast", "paper"), steps: int = 5) -> list[dict]:
    """Training throughput of each preset: a few optimiser steps on random images (speed only)."""
    rows = []
    for name in presets:
        cfg = preset(name, dataset="mnist")
        model = build_model(cfg).to(device, memory_format=torch.channels_last)
        opt = make_optimizer(cfg, model)
        x = torch.rand(cfg.batch_size, 1, 28, 28, device=device).to(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (cfg.batch_size,), device=device)

        def run():
            for _ in range(steps):
                train_step(model, opt, cfg, x, y, cfg.capacity, cfg.beta, device)
        ms = median_ms(run, device, max(1, repeats // 3))
        rows.append(dict(what=f"train, {name} preset ({cfg.shape.width1}/{cfg.shape.width2} ch, batch {cfg.batch_size}, "
                              f"{'bf16' if cfg.bf16 and bf16_native(device) else 'fp32'}) (images/s)",
                         ours=steps * cfg.batch_size / ms * 1000, higher_is_better=True))
    return rows


def cold_start_row() -> dict:
    """A fresh interpreter importing what the app imports and loading the shipped model."""
    code = ("import time; t = time.perf_counter(); import streamlit, plotly, torch; "
            "from vacdemo import load_pretrained; load_pretrained('mnist'); print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return dict(what="app cold start: imports + model load (ms)", ours=float(out.split()[-1]) * 1000)


def robust_accuracy(model, x, y, eps: float, fast: bool) -> float:
    x_adv = pgd(model, x, y, eps=eps, fast=fast)
    with torch.no_grad(), eval_mode(model):
        return (model.classify(x_adv).argmax(1) == y).float().mean().item()


def exactness_rows(model: BetaVAC, test: Split, eps_grid: list[float], n: int, device) -> list[dict]:
    """Robust accuracy with the fast path and with the plain fp32 path, on the first n test images."""
    x, y = (t.to(device) for t in test.batch(slice(0, n)))
    rows = []
    for eps in eps_grid:
        fast, plain = robust_accuracy(model, x, y, eps, True), robust_accuracy(model, x, y, eps, False)
        rows.append(dict(what=f"robust accuracy at ε = {eps:g}, {n} test images", ours=fast, plain=plain,
                         delta_points=100 * abs(fast - plain)))
    return rows


def fastpath_rows(model: BetaVAC, gallery, device: torch.device, repeats: int) -> tuple[list[dict], str]:
    """The server's path choice measured afresh (vacdemo.serving.fastpath, not its cache), then one image's PGD-40
    on the path it chose for one row against torchattacks.PGD, side by side: the rows and the choice's table."""
    import torchattacks
    from ..attacks.fastpath import clear_policy, path_for, set_policy
    from ..lab.grid import eps_grid
    from ..serving import fastpath
    x = torch.stack([gallery.image(i) for i in range(len(gallery))]).to(device)
    y = gallery.labels.to(device)
    result = fastpath.measure(model, x, y, [float(e) for e in eps_grid(model.cfg.dataset, "inf")[1:6]])
    set_policy(device.type, model, [tuple(r) for r in result["policy"]])
    one, y1 = x[:1], y[:1]
    chosen = path_for(device, model, 1)
    ours = median_ms(lambda: pgd(model, one, y1, eps=0.3), device, repeats)
    atk = torchattacks.PGD(Classify(model), eps=0.3, alpha=0.01, steps=40, random_start=False)
    theirs = median_ms(lambda: atk(one, y1), device, repeats)
    clear_policy(model)
    rows = [dict(what=f"PGD-40 ℓ∞, one image, the measured path ({chosen}) (ms)", ours=ours, torchattacks=theirs)]
    return rows, fastpath.table(result)


def format_table(rows: list[dict]) -> str:
    """The bench's one table: each row's ours, the other (torchattacks, or the plain fp32 path) and the ratio."""
    lines = [f"{'device':<22} {'what':<70} {'ours':>10} {'other':>16} {'ratio':>7}"]
    for r in rows:
        other = r.get("torchattacks", r.get("contiguous", r.get("fp32", r.get("plain"))))
        ratio = "" if "plain" in r or other is None else \
            f"{(r['ours'] / other if r.get('higher_is_better') else other / r['ours']):.2f}×"
        other_s = "" if other is None else (f"{other:.3f} fp32" if "plain" in r else
                                            f"{other:.1f} contiguous" if "contiguous" in r else
                                            f"{other:.1f} fp32" if "fp32" in r else f"{other:.1f}")
        ours_s = f"{r['ours']:.3f} fast" if "plain" in r else f"{r['ours']:.1f}"
        lines.append(f"{r['device']:<22} {r['what']:<70} {ours_s:>10} {other_s:>16} {ratio:>7}")
    lines.append("ratio: how many times faster ours is than the other (torchattacks.PGD on the same model, the "
                 "contiguous layout, or plain fp32), in the same run")
    return "\n".join(lines)
