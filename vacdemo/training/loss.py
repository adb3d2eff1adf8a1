"""The β-VAC objective, paper eq. 5, and the capacity schedule of Algorithm 1."""
import torch
import torch.nn.functional as F

from ..errors import SettingsError


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag σ²) ‖ N(0, I)) per input, summed over the code: (B,) in nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def capacity_at(epoch: float, capacity: float, ramp_epochs: float) -> float:
    """c rises linearly from 0 to C over ramp_epochs (fractional epochs), then holds at C."""
    if ramp_epochs <= 0:
        return capacity
    return capacity * min(max(epoch / ramp_epochs, 0.0), 1.0)


def beta_at(epoch: float, beta: float, beta_start: float, ramp_epochs: float) -> float:
    """β rises geometrically from beta_start to beta over ramp_epochs, then holds (beta_start ≤ 0: β throughout).
    A continuation: early on, the likelihood and class terms shape the code before the capacity term pins it."""
    if beta_start <= 0 or ramp_epochs <= 0:
        return beta
    t = min(max(epoch / ramp_epochs, 0.0), 1.0)
    return beta_start * (beta / beta_start) ** t


def capacity_penalty(kl: torch.Tensor, c: float, beta: float, smoothing: float = 0.0) -> torch.Tensor:
    """β·|kl − c| elementwise; with smoothing δ > 0, its Huber form: β·(kl − c)²/(2δ) within ±δ of c,
    β·(|kl − c| − δ/2) outside (same slope at the joins, never more than β·δ/2 below β·|kl − c|).
    Why: at kl ≈ c the subgradient of |·| flips between ±β every step; Adam's second moment then fills
    with that noise and the encoder hardly follows the likelihood and class terms (docs/models.md, "What we tried")."""
    if smoothing <= 0:
        return beta * (kl - c).abs()
    return beta * F.huber_loss(kl, torch.full_like(kl, c), reduction="none", delta=smoothing) / smoothing


def vac_loss(x, y, mu, logvar, recon_logits, class_logits, *, beta: float, c: float,
             kl_reduction: str, recon_reduction: str, smoothing: float) -> dict[str, torch.Tensor]:
    """Eq. 5, to minimise: β·|KL(q(z|x) ‖ N(0,I)) − c| + E_q[−log p(x|z) − log p(y|z)].

    x (B,1,28,28) in [0,1], y (B,), mu/logvar (B,d), recon_logits (M,B,1,28,28), class_logits (M_y,B,10):
    each expectation is estimated with its own number of samples, so both estimates stay unbiased.
    KL is measured in nats per latent dimension (summed over the code, ÷ d), the unit of the paper's C.
    −log p(x|z) is the Bernoulli likelihood summed over the 784 pixels; −log p(y|z) the cross-entropy;
    both are averaged over the M samples and the batch. kl_reduction "batch" constrains the batch mean
    of KL to c; "sample" constrains each input's KL (Algorithm 1 read literally). recon_reduction "mean"
    divides −log p(x|z) by the 784 pixels (the scale most BCE code uses); "sum" is the likelihood itself.
    smoothing δ > 0 replaces |·| by its Huber form (capacity_penalty); 0 is eq. 5 exactly.
    """
    m, d = recon_logits.shape[0], mu.shape[-1]
    kl = kl_divergence(mu.float(), logvar.float()) / d  # (B,)
    if kl_reduction == "batch":
        capacity_term = capacity_penalty(kl.mean(), c, beta, smoothing)
    elif kl_reduction == "sample":
        capacity_term = capacity_penalty(kl, c, beta, smoothing).mean()
    else:
        raise SettingsError(f"kl_reduction must be 'batch' or 'sample', not {kl_reduction!r}")
    xs = x.expand(m, *x.shape)
    nll = F.binary_cross_entropy_with_logits(recon_logits.float(), xs, reduction="none").sum((2, 3, 4))  # (M, B)
    if recon_reduction not in ("sum", "mean"):
        raise SettingsError(f"recon_reduction must be 'sum' or 'mean', not {recon_reduction!r}")
    recon = nll.mean()  # nats per image, whatever the reduction: what the logs show
    recon_term = recon / x[0].numel() if recon_reduction == "mean" else recon
    ce = F.cross_entropy(class_logits.float().flatten(0, 1), y.repeat(class_logits.shape[0]))
    return {"loss": capacity_term + recon_term + ce, "capacity_term": capacity_term,
            "kl": kl.mean().detach(), "recon": recon.detach(), "ce": ce.detach()}
