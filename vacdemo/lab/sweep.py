"""One image attacked at every ε of a grid in one batched call: what the app shows, computed once.

Each row of the batch is the same image with its own ε (PGD takes per-sample ε), so the whole grid costs
one attack of a batch of K images, and moving the app's ε slider only indexes the result.
"""
import time

import numpy as np
import torch

from ..attacks.adaptive import adaptive_pgd
from ..attacks.pgd import EPS_LIMIT, NORMS, default_alpha, pgd
from ..models.detector import Detector
from ..errors import SettingsError
from .grid import GRID_SIZE, eps_grid  # noqa: F401  re-exported: the sweep's callers read the grid here
from .record import Sweep
from ..models.vac import BetaVAC, eval_mode, reconstruction_error

MAX_STEPS = 200


def check_settings(eps: np.ndarray, steps: int, alpha: np.ndarray, norm: str, target) -> None:
    """Limits enforced here, not only by the app's widgets: an API caller gets the same clear messages."""
    if norm not in NORMS:
        raise SettingsError(f"norm must be one of {NORMS}, not {norm!r}")
    top = EPS_LIMIT[norm]
    if not (np.all(np.isfinite(eps)) and np.all(eps >= 0) and np.all(eps <= top)):
        raise SettingsError(f"ε must lie in [0, {top}] for the ℓ{'∞' if norm == 'inf' else 2} norm, got {eps}")
    if not (isinstance(steps, int) and 1 <= steps <= MAX_STEPS):
        raise SettingsError(f"steps must be an integer in 1 … {MAX_STEPS}, got {steps!r}")
    if not (np.all(np.isfinite(alpha)) and np.all(alpha > 0) and np.all(alpha <= 1)):
        raise SettingsError(f"step size must lie in (0, 1], got {alpha!r}")
    if target is not None and not (isinstance(target, int) and 0 <= target < 10):
        raise SettingsError(f"target must be a class 0 … 9 or None, got {target!r}")


def logit_margin(logits: torch.Tensor, y: int, target: int | None) -> torch.Tensor:
    """(K,) what the attack must still overcome, from logits (K, C): z_y − max z_other (untargeted) or
    max z_other − z_target (targeted). Below 0 the model is fooled (has the target)."""
    logits = logits.float()
    goal = y if target is None else target
    others = logits.masked_fill(torch.nn.functional.one_hot(torch.tensor(goal), logits.shape[1]).bool()
                                .to(logits.device), -torch.inf).amax(1)
    return logits[:, y] - others if target is None else others - logits[:, target]


def strongest_so_far(model: BetaVAC, x_adv: torch.Tensor, eps: np.ndarray, y: int, target: int | None) -> torch.Tensor:
    """Each ε keeps the strongest adversarial found at any ε up to it: an input within a smaller ball lies within
    every larger one, so the attack's strength cannot fall as ε grows (PGD run separately per ε can, by a
    little, in ℓ2 most). Weakness: the *logit* margin the attack must overcome, z_y − max z_other (untargeted) or
    max z_other − z_target (targeted); below 0 the model is fooled. Not a probability margin: once the model is
    sure, that sits at −1 for every ε and a point at a small ε would be shown at every larger one (the morph
    would stop), while the logit margin keeps falling as PGD pushes on."""
    if len(eps) < 2 or np.any(np.diff(eps) < 0):
        return x_adv
    with torch.no_grad(), eval_mode(model):
        weakness = logit_margin(model.classify(x_adv), y, target).tolist()
    best, keep = 0, list(range(len(eps)))
    for k in range(1, len(eps)):
        if weakness[k] > weakness[best]:
            keep[k] = best
        else:
            best = k
    return x_adv[keep]


def settle(eps, steps: int, alpha, norm: str, target, adaptive: bool) -> tuple[np.ndarray, np.ndarray]:
    """eps and alpha as (K,) float64 arrays (alpha None: default_alpha), every setting checked."""
    eps = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    alpha = default_alpha(eps, steps, norm) if alpha is None else np.broadcast_to(np.float64(alpha), eps.shape)
    check_settings(eps, steps, alpha, norm, target)
    if adaptive and target is not None:
        raise SettingsError("the detector-aware attack is untargeted: choose one or the other")
    return eps, alpha


def label(model: BetaVAC, x: torch.Tensor, y: int | None, device: torch.device) -> tuple[int, bool]:
    """(y, labelled): the true class when known, else the model's clean prediction (a drawing, an upload)."""
    if x.shape != (1, 28, 28) or x.min() < 0 or x.max() > 1:
        raise SettingsError(f"x must be (1, 28, 28) in [0, 1], got shape {tuple(x.shape)}")
    if y is not None:
        return int(y), True
    with torch.no_grad(), eval_mode(model):
        return int(model.classify(x[None].to(device)).argmax()), False


def attack_rows(model: BetaVAC, detector: Detector, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor,
                alpha: torch.Tensor, *, steps: int, norm: str, target: torch.Tensor | None, adaptive: bool,
                on_step=None, fast: bool = True) -> torch.Tensor:
    """x_adv (B, 1, 28, 28) for rows that may come from different images: each row its own x, y, ε, α and
    target. The expensive part of a sweep, and what the app batches across sessions (vacdemo.serving.batcher)."""
    if adaptive:
        return adaptive_pgd(model, x, y, detector, eps=eps, alpha=alpha, steps=steps, norm=norm, on_step=on_step)[0]
    return pgd(model, x, y, eps=eps, alpha=alpha, steps=steps, norm=norm, target=target, on_step=on_step, fast=fast)


def read_out(model: BetaVAC, detector: Detector, x_adv: torch.Tensor, eps: np.ndarray, y: int, labelled: bool,
             target: int | None, adaptive: bool, norm: str, start: float) -> Sweep:
    """The Sweep of one image's rows x_adv (K, 1, 28, 28), one per ε in eps (ascending, eps[0] = 0 for the
    clean input): the strongest point so far at each ε, then the model's and the detector's read-out."""
    if not adaptive:
        x_adv = strongest_so_far(model, x_adv, eps, y, target)
    with torch.no_grad(), eval_mode(model):
        read = model(x_adv)
        re = reconstruction_error(model, x_adv, read.recon)
        pred_8bit = model.classify((x_adv * 255).round() / 255).argmax(1)
    out = {k_: v.float().cpu().numpy() for k_, v in
           dict(x_adv=x_adv[:, 0], recon=read.recon[:, 0], probs=read.probs, re=re, score=detector.prob(re),
                z=read.mu, margin=logit_margin(read.logits, y, target)).items()}
    return Sweep(eps=eps, y=int(y), labelled=labelled, target=target, pred_8bit=pred_8bit.cpu().numpy(),
                 flagged=out["re"] > detector.threshold,
                 seconds=time.perf_counter() - start, device=str(x_adv.device), norm=norm, **out)


def sweep(model: BetaVAC, detector: Detector, x: torch.Tensor, y: int | None, eps, *, steps: int = 40,
          alpha: float | None = None, norm: str = "inf", target: int | None = None, adaptive: bool = False,
          device: torch.device = torch.device("cpu"), on_step=None) -> Sweep:
    """Attack x (1, 28, 28) at every ε in eps (K,). y: the class to move away from (the true class, or the
    model's clean prediction when none is known); alpha: step size (None: default_alpha); target: a class to
    move toward instead. adaptive: the detector-aware attack (untargeted only). on_step(i, steps): progress,
    called after each PGD step. The model must already be on `device`; it is not changed."""
    eps, alpha = settle(eps, steps, alpha, norm, target, adaptive)
    start = time.perf_counter()
    y, labelled = label(model, x, y, device)
    k = len(eps)
    xs = x.to(device).expand(k, 1, 28, 28).contiguous()
    e, a = (torch.as_tensor(v, dtype=xs.dtype, device=device) for v in (eps, alpha))
    x_adv = attack_rows(model, detector, xs, torch.full((k,), y, device=device), e, a, steps=steps, norm=norm,
                        target=target, adaptive=adaptive, on_step=on_step)
    return read_out(model, detector, x_adv, eps, y, labelled, target, adaptive, norm, start)
