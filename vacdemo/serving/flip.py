"""The smallest ε that fools the model, to 0.001, found by the server with the student's own attack: a class's
ranking rests on this, never on a number the browser sent.

Two rounds of 20 ε each, every row its own PGD run from the input (as on the page's grid): the first over the
whole range, the second inside the step where the answer first flipped, so the answer is within range/400
(MNIST ℓ∞: 0.00075). Rows go through the shared queue as grid fillers, so posting never starves the verdicts.
"""
from dataclasses import dataclass

import numpy as np
import torch

from ..attacks.pgd import default_alpha, pgd
from ..datasets import dataset
from ..lab.sweep import label, settle
from ..models.vac import eval_mode, reconstruction_error
from .batcher import FILL
from .lab import image_key, load_lab, load_rivals, queue

ROUND = 20  # ε per round: two rounds resolve range / ROUND² (0.3 / 400 < 0.001)
ADV = "adversarially trained CNN"  # the zoo's robust model, a challenge of its own


@dataclass(frozen=True)
class Flip:
    eps: float | None  # the smallest ε found that fools the model; None: not within the range
    label: int  # the model's answer before the attack (the class the attack moves away from)
    after: int  # its answer on x_adv
    caught: bool  # the detector's alarm on x_adv (False for a model without a decoder)
    x_adv: np.ndarray  # (28, 28) at eps (at the largest ε when never fooled)


def fooled(pred: np.ndarray, y: int, target: int | None) -> np.ndarray:
    return pred == target if target is not None else pred != y


def flip_eps(name: str, x: np.ndarray, y: int | None, *, norm: str = "inf", steps: int = 40,
             alpha: float | None = None, target: int | None = None, adaptive: bool = False, model: str = "vac",
             owner: str = "flip") -> Flip:
    """x (1, 28, 28) in [0, 1]; the rest as on the page. model: "vac" (the lab's β-VAC, through the queue) or
    "adv" (the adversarially trained CNN, attacked here)."""
    top = dataset(name).eps_range(norm)
    rows = _rows_vac if model == "vac" else _rows_adv
    lo, hi = 0.0, top
    found = None
    for _ in range(2):
        eps = np.linspace(lo, hi, ROUND + 1)[1:].round(6)
        x_adv, pred, y_used = rows(name, x, y, eps, norm, steps, alpha, target, adaptive, owner)
        hit = fooled(pred, y_used, target)
        if not hit.any():
            break
        j = int(np.argmax(hit))
        found = (float(eps[j]), x_adv[j], int(pred[j]), y_used)
        lo, hi = (float(eps[j - 1]) if j else lo), float(eps[j])
    if found is None:
        return Flip(None, y_used, int(pred[-1]), _caught(name, model, x_adv[-1:]), x_adv[-1])
    e, xa, after, y_used = found
    return Flip(e, y_used, after, _caught(name, model, xa[None]), xa)


def _rows_vac(name, x, y, eps, norm, steps, alpha, target, adaptive, owner):
    lab = load_lab(name)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
    y, _ = label(lab.model, xt, y, lab.device)
    eps, alphas = settle(eps, steps, alpha, norm, target, adaptive)
    image = (name, image_key(x), y, norm, steps, "flip", target, adaptive)
    rows = [((image, float(e)), (xt, y, float(e), float(a), target), FILL) for e, a in zip(eps, alphas)]
    futures = queue().submit(owner, (name, norm, steps, adaptive, target is None), rows)
    x_adv = torch.stack([f.result() for f in futures]).to(lab.device)  # (R, 1, 28, 28)
    with torch.no_grad(), eval_mode(lab.model):
        pred = lab.model.classify(x_adv).argmax(1).cpu().numpy()
    return x_adv[:, 0].float().cpu().numpy(), pred, y


def _rows_adv(name, x, y, eps, norm, steps, alpha, target, adaptive, owner):
    model = load_rivals(name).get(ADV)
    if model is None:
        raise LookupError(f"no adversarially trained model is shipped for {name}")
    lab = load_lab(name)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32)).to(lab.device)
    with torch.no_grad(), eval_mode(model):
        y = int(model.classify(xt[None]).argmax()) if y is None else int(y)
    eps = np.asarray(eps, dtype=np.float64)
    alphas = default_alpha(eps, steps, norm) if alpha is None else np.full(len(eps), alpha)
    xs = xt.expand(len(eps), 1, 28, 28).contiguous()
    t = torch.tensor([target] * len(eps), device=lab.device) if target is not None else None
    x_adv = pgd(model, xs, torch.full((len(eps),), y, device=lab.device), eps=torch.tensor(eps, dtype=xs.dtype),
                alpha=torch.tensor(alphas, dtype=xs.dtype), steps=steps, norm=norm, target=t)
    with torch.no_grad(), eval_mode(model):
        pred = model.classify(x_adv).argmax(1).cpu().numpy()
    return x_adv[:, 0].float().cpu().numpy(), pred, y


def _caught(name: str, model: str, x_adv: np.ndarray) -> bool:
    if model != "vac":
        return False  # no decoder, no detector
    lab = load_lab(name)
    xa = torch.from_numpy(np.asarray(x_adv, dtype=np.float32)[:, None]).to(lab.device)
    with torch.no_grad(), eval_mode(lab.model):
        re = reconstruction_error(lab.model, xa)
    return bool((re > lab.detector.threshold).any())
