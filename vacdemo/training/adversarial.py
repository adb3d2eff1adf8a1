"""The attack inside adversarial training (Madry et al., "Towards Deep Learning Models Resistant to Adversarial
Attacks", ICLR 2018), made cheap: FGSM from a uniform random start in the ε-ball with a step of 1.25·ε (Wong,
Rice & Kolter, "Fast is better than free: revisiting adversarial training", ICLR 2020), or a few PGD steps.

It runs in the model's current mode (training: BatchNorm on the batch, as both papers) and asks for the
input's gradient only. Its known failure, catastrophic overfitting (PGD accuracy collapsing while FGSM
accuracy stays high), is watched by reading both after every epoch (`python -m vacdemo train --model adv`).
"""
import torch
import torch.nn.functional as F

from ..device import autocast


def training_alpha(eps: float, steps: int, alpha: float = 0.0) -> float:
    """The step size: alpha when given, else 1.25·ε for one step (Wong et al.) and 2.5·ε/steps for PGD (Madry)."""
    return alpha or (1.25 * eps if steps == 1 else 2.5 * eps / steps)


def training_attack(model, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 1, alpha: float = 0.0,
                    bf16: bool = False) -> torch.Tensor:
    """x_adv within ε of x (ℓ∞) and in [0, 1], from a random start and `steps` sign steps on the cross-entropy."""
    alpha = training_alpha(eps, steps, alpha)
    delta = (torch.rand_like(x) * 2 - 1) * eps
    delta = (x + delta).clamp(0, 1) - x
    for _ in range(steps):
        delta.requires_grad_(True)
        with autocast(x.device, bf16):
            loss = F.cross_entropy(model.classify(x + delta).float(), y)
        (grad,) = torch.autograd.grad(loss, delta)  # the input's gradient only: no weight gradients
        delta = (delta.detach() + alpha * grad.sign()).clamp(-eps, eps)
        delta = (x + delta).clamp(0, 1) - x
    return (x + delta).detach()
