"""The detector-aware attack: PGD that also keeps the reconstruction error under the detector's τ.

A reconstruction-error detector is the kind Carlini and Wagner evaded with an attacker who knows it
("MagNet and 'Efficient Defenses...' Revisited", 2017). This attack ascends
    margin(f(x'), y) − λ·ReLU(RE(x') − τ)
and keeps, per input, the best iterate that is both misclassified and undetected.
"""
import torch

from .pgd import check_inputs, margin, per_sample, step_and_project
from ..models.detector import Detector
from ..models.vac import BetaVAC, eval_mode, reconstruction_error


def adaptive_pgd(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, detector: Detector, *, eps,
                 alpha=0.01, steps: int = 40, lam: float = 10.0, norm: str = "inf", on_step=None):
    """Returns (x_adv, evaded): evaded (B,) bool marks inputs misclassified AND under τ; for those x_adv is
    the iterate with the largest margin among such iterates, for the others the last iterate. on_step(i, steps):
    called after each step, as in pgd."""
    check_inputs(x, y, norm, "margin", steps, None)
    eps, alpha = per_sample(eps, x, "eps"), per_sample(alpha, x, "alpha")
    tau = detector.threshold
    x = x.detach()
    best = x.clone()
    best_margin = torch.full((len(x),), float("-inf"), device=x.device)
    steps = 0 if torch.all(eps == 0) else steps  # nothing can move: only score x itself
    with eval_mode(model), torch.enable_grad():
        x_adv = x.clone()
        for i in range(steps + 1):  # the last pass only scores the final iterate
            x_adv.requires_grad_(True)
            m, re = margin(model.classify(x_adv), y), reconstruction_error(model, x_adv)
            with torch.no_grad():
                better = (m > 0) & (re < tau) & (m > best_margin)
                best[better], best_margin[better] = x_adv[better].detach(), m[better]
            if i == steps:
                break
            objective = (m - lam * torch.relu(re - tau)).sum()
            (grad,) = torch.autograd.grad(objective, x_adv)
            x_adv = step_and_project(x_adv.detach(), grad, x, eps, alpha, norm)
            if on_step is not None:
                on_step(i + 1, steps)
    evaded = torch.isfinite(best_margin)
    return torch.where(evaded.view(-1, 1, 1, 1), best, x_adv.detach()), evaded
