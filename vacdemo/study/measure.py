"""The raw measurements behind the paper's figures and tables, for one trained β-VAC.

Per test image and ε: the classifier's answer under PGD, the reconstruction error (RE) and the judge's
reading of the reconstruction; plus the RE detector fitted on training-set adversarials (§6.1). The
report (vacdemo.study.report) turns these into robust accuracy, detection accuracy and the Fig. 5 share, so
the numbers can be recomputed without attacking again.
"""
import time

import torch

from ..attacks.pgd import default_alpha, pgd
from ..data import Split
from ..attacks.evaluate import batched, fit_on_training
from ..models.vac import BetaVAC, eval_mode, reconstruction_error
from .judge import judge_labels


EPOCH_TRACK_N = 200  # test images attacked after every epoch of the tracked model
SUBSET = "random, seed 0"  # which test images: recorded, so a change of draw invalidates old measurements


def test_subset(n_total: int, n: int, seed: int = 0) -> torch.Tensor:
    """n test-image indices drawn at random (seeded): every model of a study sees the same images, and they
    are not the first n of the file (whose class mix and writers need not be the test set's)."""
    return torch.randperm(n_total, generator=torch.Generator().manual_seed(seed))[:n]


def robust_accuracy(model: BetaVAC, *, x: torch.Tensor, y: torch.Tensor, eps_list: list[float], steps: int = 40,
                    batch_size: int = 500, fast: bool = True) -> dict:
    """{"robust@ε": PGD accuracy} on x (on any device: moved to the model's): one model's robustness at a glance.
    The model's mode and BatchNorm statistics are left as they were (it is called between training epochs).
    fast=False: the plain fp32 path (pgd's fast path folds BatchNorm and runs bf16 where native)."""
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    out = {}
    for eps in eps_list:
        alpha = default_alpha(eps, steps, "inf")
        x_adv = batched(lambda s: pgd(model, x[s], y[s], eps=eps, alpha=alpha, steps=steps, fast=fast), len(x),
                        batch_size)
        with torch.no_grad(), eval_mode(model):  # called mid-training: BatchNorm must not read (or learn) this batch
            pred = batched(lambda s: model.classify(x_adv[s]).argmax(1), len(x), batch_size)
        out[f"robust@{eps:g}"] = (pred == y).float().mean().item()
    return out


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """(k, 1, 28, 28) ∈ [0, 1] → (k, 28, 28) uint8 on the CPU: small to store, exact enough to look at."""
    return (x.squeeze(1) * 255).round().to(torch.uint8).cpu()


@torch.no_grad()
def read(model: BetaVAC, judge, x: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, ...]:
    """pred (N,), RE (N,), the judge's class of the reconstruction (N,) and the reconstruction itself, from
    one readout per batch."""
    def one(s):
        read = model(x[s])
        return (read.logits.argmax(1), reconstruction_error(model, x[s], read.recon),
                judge_labels(judge, read.recon), read.recon)
    return batched(one, len(x), batch_size)


def measure(model: BetaVAC, judge, train: Split, test: Split, eps_grid: list[float], *, n_test: int,
            n_fit: int, fig_eps: float, fig_k: int = 8, steps: int = 40, batch_size: int = 500,
            seed: int = 0) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors (CPU) and metadata for one model; model, judge and the splits on the same device."""
    start = time.perf_counter()
    model.eval().requires_grad_(False)
    detector = fit_on_training(model, train, eps_grid, n=n_fit, steps=steps, seed=seed, batch_size=batch_size)
    index = test_subset(len(test), n_test).to(test.images.device)
    x, y = test.batch(index)
    pred, re, judged, _ = read(model, judge, x, batch_size)
    out = {"index": index, "y": y, "pred_clean": pred, "re_clean": re, "judge_clean": judged}
    per_eps = {"pred_adv": [], "re_adv": [], "judge_adv": []}
    fig_i = min(range(len(eps_grid)), key=lambda i: abs(eps_grid[i] - fig_eps))
    for i, eps in enumerate(eps_grid):
        alpha = default_alpha(eps, steps, "inf")
        x_adv = batched(lambda s: pgd(model, x[s], y[s], eps=eps, alpha=alpha, steps=steps), len(x), batch_size)
        pred_adv, re_adv, judged_adv, recon_adv = read(model, judge, x_adv, batch_size)
        for k, v in zip(per_eps, (pred_adv, re_adv, judged_adv)):
            per_eps[k].append(v)
        if i == fig_i:  # Fig. 5: the first fig_k successful attacks (clean right, adversarial wrong)
            hit = ((pred == y) & (pred_adv != y)).nonzero().squeeze(1)[:fig_k]
            out.update(fig_index=hit, fig_x=to_uint8(x[hit]), fig_x_adv=to_uint8(x_adv[hit]),
                       fig_recon=to_uint8(recon_adv[hit]))
    out.update({k: torch.stack(v) for k, v in per_eps.items()})  # (len(eps_grid), n_test)
    out = {k: v.cpu().contiguous() for k, v in out.items()}
    meta = {"eps": list(eps_grid), "n_test": len(x), "subset": SUBSET, "n_fit": n_fit, "steps": steps, "alpha": default_alpha(0.0, steps, "inf"),
            "fig_eps": eps_grid[fig_i], "detector": {"coef": detector.coef, "intercept": detector.intercept,
                                                     "meta": detector.meta},
            "wall_s": round(time.perf_counter() - start, 1)}
    return out, meta
