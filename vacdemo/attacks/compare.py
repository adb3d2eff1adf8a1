"""Several models under the same attack: each attacked with its own gradients, and transfer (does the
adversarial image made for one model fool another?). What the app's comparison and the model card show.

A fair comparison uses the same input, the same ε, the same steps and step size for every model; only the
gradients differ. Transfer reads every model on every model's adversarial image.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .pgd import pgd
from ..models.vac import eval_mode


@dataclass
class Comparison:
    """One input at one ε, M models (in `names` order)."""
    names: list[str]
    eps: float
    x_adv: np.ndarray  # (M, 28, 28): the adversarial image each model needed
    probs: np.ndarray  # (M, M, 10): probs[i, j] = model j's class probabilities on model i's x_adv
    clean_probs: np.ndarray  # (M, 10): each model on the clean input
    ys: np.ndarray  # (M,): the class each model's attack moves away from (the true class, or its own clean reading)

    @property
    def pred(self) -> np.ndarray:
        """(M,) each model's prediction on its own adversarial image."""
        return self.probs[np.arange(len(self.names)), np.arange(len(self.names))].argmax(-1)

    @property
    def transfer(self) -> np.ndarray:
        """(M, M) bool: model j is fooled (reads a class other than its ys[j]) by model i's adversarial image."""
        return self.probs.argmax(-1) != self.ys[None, :]


def compare(models: dict, x: torch.Tensor, y: int, eps: float, *, steps: int = 40, alpha: float = 0.01,
            norm: str = "inf", fast: bool = True) -> Comparison:
    """x (1, 28, 28) attacked on each model (untargeted PGD, away from y), then every model read on every
    model's x_adv. The models must be on x's device; they are not changed."""
    names = list(models)
    xs, ys = x[None], torch.tensor([y], device=x.device)
    x_adv = torch.cat([pgd(m, xs, ys, eps=eps, alpha=alpha, steps=steps, norm=norm, fast=fast) for m in models.values()])
    with torch.no_grad():
        probs = torch.stack([read(m, x_adv) for m in models.values()], dim=1)  # (M sources, M readers, 10)
        clean = torch.cat([read(m, xs) for m in models.values()])
    return Comparison(names, float(eps), x_adv[:, 0].float().cpu().numpy(), probs.float().cpu().numpy(),
                      clean.float().cpu().numpy(), np.full(len(names), int(y)))


@dataclass
class CompareGrid:
    """One input over an ε-grid on M models: what the app's comparison shows, the slider only indexing it."""
    names: list[str]
    eps: np.ndarray  # (K,)
    x_adv: np.ndarray  # (M, K, 28, 28): each model's own adversarial image at each ε
    probs: np.ndarray  # (M, M, K, 10): probs[i, j, k] = model j on model i's x_adv at eps[k]
    ys: np.ndarray  # (M,): the class each model's attack moves away from
    labelled: bool  # ys is the true class (a test image); else each model's own clean reading (a drawing, an upload)

    def at(self, k: int) -> Comparison:
        return Comparison(self.names, float(self.eps[k]), self.x_adv[:, k], self.probs[:, :, k],
                          self.probs[0, :, 0], self.ys)


def compare_grid(models: dict, x: torch.Tensor, y: int | None, eps, *, steps: int = 40, alpha: float = 0.01,
                 fast: bool = True) -> CompareGrid:
    """x (1, 28, 28) attacked on each model at every ε of eps (K,), ℓ∞, one batched PGD call per model (one ε per
    row), away from y, or, when y is None (a drawing, an upload), away from what that model reads on x; every
    model read on every model's rows. eps[0] = 0 gives the clean readings."""
    eps = np.asarray(eps, dtype=np.float64)
    k = len(eps)
    if y is None:
        with torch.no_grad():
            targets = [int(read(m, x[None]).argmax()) for m in models.values()]  # each model's own reading
    else:
        targets = [int(y)] * len(models)
    xs = x[None].expand(k, 1, 28, 28).contiguous()
    e = torch.as_tensor(eps, dtype=x.dtype, device=x.device)
    x_adv = torch.stack([pgd(m, xs, torch.full((k,), c, device=x.device), eps=e, alpha=alpha, steps=steps, fast=fast)
                         for m, c in zip(models.values(), targets)])
    with torch.no_grad():
        probs = torch.stack([torch.stack([read(m, x_adv[i]) for m in models.values()])
                             for i in range(len(models))])  # (M, M, K, 10)
    return CompareGrid(list(models), eps, x_adv[:, :, 0].float().cpu().numpy(), probs.float().cpu().numpy(),
                       np.array(targets), y is not None)


def read(model, x: torch.Tensor) -> torch.Tensor:
    with eval_mode(model):
        return model.classify(x).softmax(-1)


def transfer_rates(models: dict, x: torch.Tensor, y: torch.Tensor, eps: float, *, steps: int = 40,
                   alpha: float = 0.01, batch: int = 250) -> dict:
    """On test images x (N, 1, 28, 28), y (N,): robust[i] = model i's accuracy under its own PGD, and
    transfer[i][j] = among the images model i's attack fooled it on (and model j reads right clean), the share
    that also fool model j. → {"names", "robust", "transfer", "counts"}."""
    names = list(models)
    fooled_by = {}  # (source, reader) → (N,) bool: reader wrong on source's x_adv
    right = {}
    for start in range(0, len(x), batch):
        xb, yb = x[start:start + batch], y[start:start + batch]
        with torch.no_grad():
            for j, m in models.items():
                right.setdefault(j, []).append(read(m, xb).argmax(1) == yb)
        for i, source in models.items():
            x_adv = pgd(source, xb, yb, eps=eps, alpha=alpha, steps=steps)
            with torch.no_grad():
                for j, m in models.items():
                    fooled_by.setdefault((i, j), []).append(read(m, x_adv).argmax(1) != yb)
    right = {j: torch.cat(v) for j, v in right.items()}
    fooled = {k: torch.cat(v) for k, v in fooled_by.items()}
    robust = {i: 1 - fooled[i, i].float().mean().item() for i in names}
    transfer, counts = {}, {}
    for i in names:
        for j in names:
            base = fooled[i, i] & right[i] & right[j]  # i's attack worked on an image both read right clean
            counts[i, j] = int(base.sum())
            transfer[i, j] = (fooled[i, j] & base).sum().item() / counts[i, j] if counts[i, j] else float("nan")
    return {"names": names, "robust": robust,
            "transfer": [[transfer[i, j] for j in names] for i in names],
            "counts": [[counts[i, j] for j in names] for i in names]}
