"""Projected gradient descent on the β-VAC's classifier: paper Algorithm 2 (Madry et al., 2018)."""
import numpy as np
import torch
import torch.nn.functional as F

from ..device import autocast
from ..errors import SettingsError
from ..models.fold import attack_view
from .fastpath import path_for
from ..models.vac import BetaVAC, eval_mode

NORMS = ("inf", "2")
# The largest meaningful ε per norm: beyond it the ball holds the whole [0, 1]^784 cube (ℓ∞: 1; ℓ2: √784 = 28).
EPS_LIMIT = {"inf": 1.0, "2": 28.0}
LOSSES = ("ce", "margin")
STEPS = ("sign", "raw")  # sign(∇L) as Madry et al. and torchattacks; raw α∇L as the paper's Algorithm 2 is written


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Carlini–Wagner margin max_{j≠y} logit_j − logit_y, (B,): positive ⇔ misclassified."""
    true = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).amax(1)
    return other - true


def attack_objective(logits, y, target, loss: str) -> torch.Tensor:
    """Per-sample objective to ascend, (B,): move away from y, or toward target when given."""
    if loss == "ce":
        return -F.cross_entropy(logits, target, reduction="none") if target is not None else \
            F.cross_entropy(logits, y, reduction="none")
    return -margin(logits, target) if target is not None else margin(logits, y)


def default_alpha(eps, steps: int, norm: str):
    """The step size when none is given, with eps's type (a number, a numpy array or a tensor). ℓ∞: the paper's
    0.01. ℓ2: 2.5·ε/steps (Madry et al.'s rule), at least 1e-6: a fixed 0.01 would travel at most 0.4 in 40
    steps, far inside an ℓ2 ball of radius 1 or more, while this lets every ε reach its rim."""
    if norm == "inf":
        return eps * 0 + 0.01
    alpha = 2.5 * eps / steps
    return alpha.clamp(min=1e-6) if isinstance(alpha, torch.Tensor) else np.maximum(alpha, 1e-6)


def per_sample(v, x: torch.Tensor, name: str) -> torch.Tensor:
    """A scalar or (B,) tensor → (B, 1, 1, 1) on x's device, checked to be finite and ≥ 0."""
    v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    if v.dim() > 1 or (v.dim() == 1 and len(v) != len(x)):
        raise SettingsError(f"{name} must be a number or a ({len(x)},) tensor, got shape {tuple(v.shape)}")
    if not torch.all(torch.isfinite(v) & (v >= 0)):
        raise SettingsError(f"{name} must be finite and ≥ 0, got {v.tolist()}")
    return v.expand(len(x)).view(-1, 1, 1, 1)


def step_and_project(x_adv, grad, x, eps, alpha, norm: str, step: str = "sign", box: bool = True) -> torch.Tensor:
    """One ascent step of size alpha (raw: α∇L itself), then projection onto the ε-ball around x and (box) [0, 1]."""
    if step == "raw":
        x_adv = x_adv + alpha * grad
        delta = torch.maximum(torch.minimum(x_adv - x, eps), -eps) if norm == "inf" else x_adv - x
        if norm == "2":
            d = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            delta = delta * torch.clamp(eps / d.clamp_min(1e-12), max=1.0)
    elif norm == "inf":
        x_adv = x_adv + alpha * grad.sign()
        delta = torch.maximum(torch.minimum(x_adv - x, eps), -eps)
    else:
        g = grad.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-10  # + 1e-10 as torchattacks: same rounding
        x_adv = x_adv + alpha * (grad / g)
        delta = x_adv - x
        d = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        delta = delta * torch.clamp(eps / d.clamp_min(1e-12), max=1.0)
    # clamping to [0, 1] moves each pixel toward x, so the result stays inside the ball
    return (x + delta).clamp(0, 1) if box else x + delta


def random_point(x, eps, norm: str, box: bool = True) -> torch.Tensor:
    """A uniform start in the ℓ∞ ball, or a random direction at a uniform radius in the ℓ2 ball."""
    if norm == "inf":
        delta = (torch.rand_like(x) * 2 - 1) * eps
    else:
        delta = torch.randn_like(x)
        delta = delta / delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * eps * torch.rand_like(eps)
    return (x + delta).clamp(0, 1) if box else x + delta


def check_inputs(x, y, norm, loss, steps, target, step="sign"):
    if step not in STEPS:
        raise SettingsError(f"step must be one of {STEPS}, not {step!r}")
    if norm not in NORMS:
        raise SettingsError(f"norm must be one of {NORMS}, not {norm!r}")
    if loss not in LOSSES:
        raise SettingsError(f"loss must be one of {LOSSES}, not {loss!r}")
    if not (isinstance(steps, int) and steps >= 0):
        raise SettingsError(f"steps must be an integer ≥ 0, not {steps!r}")
    if x.dim() != 4 or x.shape[1:] != (1, 28, 28):
        raise SettingsError(f"x must have shape (B, 1, 28, 28), not {tuple(x.shape)}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise SettingsError(f"x must lie in [0, 1], got [{x.min().item():.3g}, {x.max().item():.3g}]")
    if y.shape != (len(x),):
        raise SettingsError(f"y must have shape ({len(x)},), not {tuple(y.shape)}")
    if target is not None and not torch.all((target >= 0) & (target < 10)):
        raise SettingsError(f"target classes must lie in 0 … 9, got {target.unique().tolist()}")


def pgd(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, *, eps, alpha=0.01, steps: int = 40,
        norm: str = "inf", random_start: bool = False, target=None, loss: str = "ce",
        fast: bool = True, on_step=None, step: str = "sign", box: bool = True) -> torch.Tensor:
    """PGD on model.classify (z = mu(x), no sampling), paper Algorithm 2.

    Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018.
    x (B, 1, 28, 28) in [0, 1]; y (B,) true classes. eps: ε-ball radius, a number or a (B,) tensor (one
    ε per sample, so a whole ε-grid for one image runs as one batch). alpha: step size (number or (B,)).
    norm "inf" (the paper's) or "2". steps=1 with alpha=eps is FGSM. target: a class or (B,) classes to
    turn x into (targeted attack). loss "ce" (cross-entropy) or "margin" (Carlini–Wagner). fast: the path
    vacdemo.attacks.fastpath chooses for this batch size (the server's measured policy; else the model with its
    BatchNorms folded into the convolutions, vacdemo.models.fold: the same function up to rounding, in bf16
    autocast where the hardware does bf16 natively; the iterate itself stays fp32); fast=False is the plain fp32
    path. tests/test_fast_path.py checks that the fast path finds
    adversarial examples as often as the plain one. on_step(i, steps), when given, is called after each step
    (a progress bar for a long attack). box=False drops the [0, 1] clamp (Algorithm 2 as printed has none:
    a study of the clamp's effect; pictures outside [0, 1] are not images). step "sign" moves by α·sign(∇L) (ℓ2: α∇L/‖∇L‖), as Madry et al.;
    "raw" by α∇L of each image's own loss, as the paper's Algorithm 2 is written (a step that shrinks with the
    gradient: measured against the sign step in the reproduction report).
    Returns x_adv with ‖x_adv − x‖ ≤ ε and x_adv ∈ [0, 1]; x, the model's mode and its .grad are untouched.

    >>> x_adv = pgd(model, x, y, eps=0.3)              # the paper's MNIST attack at ε = 0.3
    >>> x_grid = pgd(model, x.expand(16, -1, -1, -1), y.expand(16), eps=torch.linspace(0, 0.3, 16))
    """
    if target is not None:
        target = torch.as_tensor(target, device=x.device).long()
        if target.dim() > 1 or (target.dim() == 1 and len(target) != len(x)):
            raise SettingsError(f"target must be a class or a ({len(x)},) tensor, not shape {tuple(target.shape)}")
        target = target.expand(len(x))
    check_inputs(x, y, norm, loss, steps, target, step)
    eps, alpha = per_sample(eps, x, "eps"), per_sample(alpha, x, "alpha")
    x = x.detach()
    if torch.all(eps == 0):  # nothing can move: skip the model entirely
        return x.clone()
    path = path_for(x.device, model, len(x)) if fast else "plain"
    net = model if path == "plain" else attack_view(model)  # BatchNorm folded into the convs: same function, fewer ops
    bf16 = path == "folded-bf16"
    with eval_mode(model), torch.enable_grad():  # enable_grad: also when called under no_grad
        x_adv = random_point(x, eps, norm, box) if random_start else x.clone()
        for i in range(steps):
            x_adv.requires_grad_(True)
            # mean over the batch, as torchattacks: the step only uses the sign (or direction) of each
            # sample's gradient, and the same scale keeps the rounding, hence near-zero signs, identical
            with autocast(x.device, bf16):
                logits = net.classify(x_adv)
            objective = attack_objective(logits.float(), y, target, loss)
            # raw: each image's own gradient (a sum); sign: the batch mean (only its sign is used, see above)
            objective = objective.sum() if step == "raw" else objective.mean()
            # grad w.r.t. the input only: no weight gradients computed, parameters' .grad untouched
            (grad,) = torch.autograd.grad(objective, x_adv)
            x_adv = step_and_project(x_adv.detach(), grad, x, eps, alpha, norm, step, box)
            if on_step is not None:
                on_step(i + 1, steps)
    return x_adv.detach()


def fgsm(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, *, eps, **kw) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al., 2015): one PGD step of size ε."""
    return pgd(model, x, y, eps=eps, alpha=eps, steps=1, **kw)
