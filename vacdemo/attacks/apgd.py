"""A second opinion on robustness: APGD (Croce & Hein, ICML 2020), ℓ∞, in fp32.

PGD with a fixed step can stall (too large a step oscillates, too small never arrives); APGD starts at
2ε, adds momentum, and halves the step of each image whose loss stopped rising, at checkpoints that come
closer together. With the margin loss and random restarts it is the standard check that a model's PGD
robustness is not an artefact of the attack. tests/test_apgd.py checks it against torchattacks.APGD.
"""
import torch

from .pgd import attack_objective, per_sample
from ..models.vac import BetaVAC, eval_mode


def checkpoints(steps: int) -> list[int]:
    """The iterations where each image's step may halve: p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1}
    − 0.03, 0.06) (fractions of steps), as in the paper."""
    p = [0.0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    return sorted({int(round(q * steps)) for q in p[1:] if q < 1})


def objective(model, x, y, loss: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-image objective (B,), its input gradient, and whether the model still gets each image right."""
    x = x.detach().requires_grad_(True)
    logits = model.classify(x)
    f = attack_objective(logits, y, None, loss)
    (grad,) = torch.autograd.grad(f.sum(), x)
    return f.detach(), grad, logits.argmax(1) == y


def one_run(model, x, y, eps, steps: int, loss: str, rho: float, generator) -> torch.Tensor:
    """One APGD run from a random start; returns, per image, an adversarial point if one was met, else the
    point of highest objective."""
    def project(z):
        return torch.minimum(torch.maximum(z, x - eps), x + eps).clamp(0, 1)

    start = (torch.rand(x.shape, generator=generator) * 2 - 1).to(x.device)
    x_cur = project(x + eps * start)
    f, grad, right = objective(model, x_cur, y, loss)
    x_best, f_best, g_best, x_out = x_cur.clone(), f.clone(), grad.clone(), x_cur.clone()
    step = 2 * eps.expand(len(x), 1, 1, 1).clone()
    x_prev = x_cur.clone()
    marks, last = set(checkpoints(steps)), 0
    since = torch.zeros(len(x), device=x.device)  # steps since the last checkpoint where f rose
    f_at_mark, halved_at_mark = f_best.clone(), torch.ones(len(x), dtype=torch.bool, device=x.device)
    for i in range(steps):
        z = project(x_cur + step * grad.sign())
        a = 0.75 if i > 0 else 1.0
        x_next = project(x_cur + a * (z - x_cur) + (1 - a) * (x_cur - x_prev))
        x_prev, x_cur = x_cur, x_next
        f_new, grad, still = objective(model, x_cur, y, loss)
        fooled = ~still
        x_out[fooled] = x_cur[fooled]
        right &= still
        since += (f_new > f).float()
        f = f_new
        better = f > f_best
        x_best[better], f_best[better], g_best[better] = x_cur[better], f[better], grad[better]
        if i + 1 in marks:
            span = i + 1 - last
            halve = (since <= rho * span) | (~halved_at_mark & (f_best <= f_at_mark))
            step[halve] /= 2
            x_cur[halve], grad[halve] = x_best[halve], g_best[halve]  # go on from the best point, smaller step
            halved_at_mark, f_at_mark, since, last = halve, f_best.clone(), since.zero_(), i + 1
    return torch.where(right.view(-1, 1, 1, 1), x_best, x_out)


def apgd(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, *, eps, steps: int = 100, restarts: int = 3,
         loss: str = "margin", rho: float = 0.75, seed: int = 0) -> torch.Tensor:
    """ℓ∞ APGD on model.classify, fp32, with restarts on the images not yet fooled; x (B, 1, 28, 28) in [0, 1],
    eps a number or (B,). Returns x_adv within the ε-ball and [0, 1]."""
    eps = per_sample(eps, x, "eps")
    x, x_adv = x.detach(), x.detach().clone()
    generator = torch.Generator().manual_seed(seed)
    with eval_mode(model), torch.enable_grad():
        todo = torch.ones(len(x), dtype=torch.bool, device=x.device)
        for _ in range(restarts):
            idx = todo.nonzero().squeeze(1)
            if len(idx) == 0:
                break
            found = one_run(model, x[idx], y[idx], eps[idx], steps, loss, rho, generator)
            x_adv[idx] = found
            with torch.no_grad():
                todo[idx] = model.classify(found).argmax(1) == y[idx]
    return x_adv

