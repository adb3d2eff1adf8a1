"""The server's attack path, chosen by measuring, not by a CPU flag (issue 32).

At start (serving.lab.warm) each shipped model's candidate paths (vacdemo.attacks.fastpath.PATHS: the plain fp32
model, the BatchNorm-folded fp32 model, the folded model under bf16 autocast) are timed on real batches of the
sizes the queue runs (one row, a grid, a class's batch), PGD-40, median of a few runs. A path may serve only if
it agrees with the plain one: its success rate on the shipped gallery within 0.02 (predictions
compared, not pixels; at the ε where about half fall). Per batch size the fastest agreeing path
serves. The result is cached per CPU model, torch
version, thread count and model (runs/fastpath/): replicas share it, and one that starts while another measures
waits for it (an exclusive file lock) instead of timing beside it.
"""
import fcntl
import hashlib
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from ..attacks.fastpath import PATHS, set_policy
from ..attacks.pgd import pgd
from ..device import bf16_native, describe_device
from ..models.vac import eval_mode
from ..paths import ROOT

CACHE = ROOT / "runs" / "fastpath"
SIZES = (1, 8, 21, 32)  # one row (a lone probe), a few rows, one image's whole grid, a full queue batch
AGREE = 0.02  # the largest gap in success rate a path may show against the plain one
REPEATS = 3
SLOWER = 3.0  # a candidate this many times slower than the best at a size is not timed at larger sizes


def candidates(device: torch.device) -> list[str]:
    """The paths worth timing here: bf16 only where oneDNN (or the GPU) has bf16 kernels at all."""
    has_bf16 = device.type == "cuda" or (torch.backends.mkldnn.is_available()
                                         and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return [p for p in PATHS if p != "folded-bf16" or has_bf16]


def run_path(model, x, y, eps, path: str) -> torch.Tensor:
    """PGD-40 through one path, with the policy forced to it for this call."""
    set_policy(x.device.type, model, [(1 << 30, path)])
    return pgd(model, x, y, eps=eps, fast=path != "plain")


def median_ms(fn, repeats: int = REPEATS) -> float:
    fn()  # warm-up: oneDNN's first call builds its kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def success_rate(model, x, y, eps: float, path: str, clean: torch.Tensor) -> float:
    """The share of the images read right that the path's PGD-40 fools."""
    with torch.no_grad(), eval_mode(model):
        fooled = model.classify(run_path(model, x, y, eps, path)).argmax(1) != y
    return float((fooled & clean).sum() / clean.sum().clamp_min(1))


def measure(model, x: torch.Tensor, y: torch.Tensor, eps_list: list[float]) -> dict:
    """Time every candidate at every size (smallest first; a candidate SLOWER× slower than the best at a size is not
    timed further: it cannot win, and on a CPU without native bf16 its reference kernels are 10× slower), check the
    agreement of those left on (x, y) at the ε of eps_list where the plain path fools closest to half the images
    (where a weaker path would show): the rows and the policy."""
    device = x.device
    paths = candidates(device)
    ms, alive = {}, list(paths)
    for n in SIZES:
        xs = x[torch.arange(n) % len(x)]
        ys = y[torch.arange(n) % len(y)]
        es = torch.linspace(0, 2 * eps_list[-1], n, device=device) if n > 1 else eps_list[-1]
        for path in alive:
            ms[(path, n)] = median_ms(lambda: run_path(model, xs, ys, es, path))
        best = min(ms[(p, n)] for p in alive)
        alive = [p for p in alive if p == "plain" or ms[(p, n)] <= SLOWER * best]
    with torch.no_grad(), eval_mode(model):
        clean = model.classify(x).argmax(1) == y
    plain = {e: success_rate(model, x, y, e, "plain", clean) for e in eps_list}
    eps = min(eps_list, key=lambda e: abs(plain[e] - 0.5))
    success = {p: plain[eps] if p == "plain" else success_rate(model, x, y, eps, p, clean) for p in alive}
    agrees = {p: p in alive and abs(success[p] - success["plain"]) <= AGREE for p in paths}
    policy = [(n, min((p for p in alive if agrees[p] and (p, n) in ms), key=lambda p: ms[(p, n)])) for n in SIZES]
    return {"paths": paths, "success": success, "agrees": agrees, "eps": eps, "n_agreement": int(clean.sum()),
            "ms": {f"{p}@{n}": round(v, 2) for (p, n), v in ms.items()}, "policy": policy,
            "dropped": [p for p in paths if p not in alive],
            "device": describe_device(device), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "bf16_flag": bf16_native(device)}


def cache_file(model, device: torch.device) -> Path:
    """One file per CPU (or GPU) model, torch version, thread count and model weights."""
    weights = hashlib.sha1()
    for t in model.state_dict().values():
        weights.update(t.detach().float().cpu().numpy().tobytes())
    key = "|".join([describe_device(device), platform.machine(), torch.__version__, str(torch.get_num_threads()),
                    weights.hexdigest()])
    return CACHE / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


def ensure(model, x: torch.Tensor, y: torch.Tensor, eps_list: list[float], cache: Path | None = None) -> dict:
    """The measured result for this model here (from the cache, else measured now under an exclusive lock, so that
    replicas starting together measure once), its policy set for pgd(fast=True)."""
    path = cache or cache_file(model, x.device)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a replica that measures holds it; the others wait, then read
        try:
            result = json.loads(path.read_text()) if path.exists() else None
        except (OSError, json.JSONDecodeError):
            result = None  # a damaged cache: measure again
        if result is None:
            result = measure(model, x, y, eps_list)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(result, indent=1))
            tmp.replace(path)
    set_policy(x.device.type, model, [tuple(r) for r in result["policy"]])
    return result


def table(result: dict) -> str:
    """Markdown: PGD-40 ms per path and batch size, each path's agreement, and the path chosen per size."""
    paths, chosen = result["paths"], dict(tuple(r) for r in result["policy"])
    head = "| rows | " + " | ".join(f"{p} (ms)" for p in paths) + " | serves |"
    lines = [head, "|---:|" + "---:|" * len(paths) + "---|"]
    for n in SIZES:
        cells = [f"{result['ms'][f'{p}@{n}']:.1f}" if f"{p}@{n}" in result["ms"] else "dropped" for p in paths]
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {chosen[n]} |")
    lines.append("| success at ε = {:g} ({} gallery images) | ".format(result["eps"], result["n_agreement"]) +
                 " | ".join(f"{result['success'][p]:.3f}{'' if result['agrees'][p] else ' ✗'}" if p in result["success"]
                            else "–" for p in paths) + " | |")
    return "\n".join(lines)
