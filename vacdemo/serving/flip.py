"""The smallest ε that fools the model, to 0.001, found by the server with the student's own attack: a class's
ranking rests on this, never on a number the browser sent.

Bisection over ε, each probe its own PGD run from the input (as on the page's grid). It starts from the page's
own grid when the server has it (the grid step where the answer first flipped: 0.015 wide for MNIST, so four
probes reach 0.001), else from the whole range (ten probes: the top, then nine halvings). Probes go through the
shared attack queue as first answers (a student waits for each, as for a verdict; grid fillers wait behind
them): probes of students who send at the same moment run as one batch.
"""
from dataclasses import dataclass

import numpy as np
import torch

from ..attacks.pgd import default_alpha, pgd
from ..datasets import dataset
from ..lab.record import Sweep
from ..lab.sweep import label, settle
from ..models.vac import eval_mode, reconstruction_error
from .batcher import FIRST
from .lab import image_key, load_lab, load_rivals, queue

RESOLUTION = 0.001  # the answer is within this of the largest ε probed that did not fool the model
ADV = "adversarially trained CNN"  # the zoo's robust model, a challenge of its own


@dataclass(frozen=True)
class Flip:
    eps: float | None  # the smallest ε found that fools the model; None: not within the range (0.0: wrong already)
    below: float  # the largest ε probed that did not fool it (eps − below ≤ RESOLUTION)
    label: int  # the model's answer before the attack (the class the attack moves away from)
    after: int  # its answer on x_adv
    caught: bool  # the detector's alarm on x_adv (False for a model without a decoder)
    x_adv: np.ndarray  # (28, 28) at eps (at the largest ε when never fooled)
    probes: int  # PGD runs it took


def fooled(pred: int, y: int, target: int | None) -> bool:
    return pred == target if target is not None else pred != y


def flip_eps(name: str, x: np.ndarray, y: int | None, *, norm: str = "inf", steps: int = 40,
             alpha: float | None = None, target: int | None = None, adaptive: bool = False, model: str = "vac",
             grid: Sweep | None = None, owner: str = "flip") -> Flip:
    """x (1, 28, 28) in [0, 1]; the rest as on the page. model: "vac" (the lab's β-VAC, through the queue) or
    "adv" (the adversarially trained CNN, attacked here). grid: the page's Sweep of this input and attack, if
    the server has it (the β-VAC only): the bisection starts from its flip."""
    probe = _Probe(name, x, y, norm, steps, alpha, target, adaptive, model, owner)
    top = dataset(name).eps_range(norm)
    if grid is not None and model == "vac":
        j = grid.flip()
        y_used = grid.y
        if j is None:  # never fooled on the grid, whose top is the range's
            return Flip(None, top, y_used, int(grid.pred[-1]), bool(grid.flagged[-1]), grid.x_adv[-1], 0)
        if j == 0:  # the model reads it wrong before any attack
            return Flip(0.0, 0.0, y_used, int(grid.pred[0]), bool(grid.flagged[0]), grid.x_adv[0], 0)
        lo, hi, best = float(grid.eps[j - 1]), float(grid.eps[j]), (grid.x_adv[j], int(grid.pred[j]))
    else:
        y_used = probe.y
        clean = probe.clean()
        if fooled(clean, y_used, target):  # the model reads it wrong before any attack: nothing to rank
            return Flip(0.0, 0.0, y_used, clean, probe.caught(np.asarray(x)[0]), np.asarray(x)[0], 0)
        xa, pred = probe(top)
        if not fooled(pred, y_used, target):
            return Flip(None, top, y_used, pred, probe.caught(xa), xa, probe.n)
        lo, hi, best = 0.0, top, (xa, pred)
    while hi - lo > RESOLUTION + 1e-9:
        mid = round((lo + hi) / 2, 6)
        xa, pred = probe(mid)
        if fooled(pred, y_used, target):
            hi, best = mid, (xa, pred)
        else:
            lo = mid
    return Flip(hi, lo, y_used, best[1], probe.caught(best[0]), best[0], probe.n)


class _Probe:
    """One PGD run at one ε → (x_adv (28, 28), the model's answer); counts its runs."""

    def __init__(self, name, x, y, norm, steps, alpha, target, adaptive, model, owner):
        self.name, self.norm, self.steps, self.alpha, self.target, self.adaptive, self.model, self.owner = \
            name, norm, steps, alpha, target, adaptive, model, owner
        self.lab = load_lab(name)
        self.net = self.lab.model if model == "vac" else load_rivals(name).get(ADV)
        if self.net is None:
            raise LookupError(f"no adversarially trained model is shipped for {name}")
        self.x = torch.from_numpy(np.asarray(x, dtype=np.float32))
        self.y = label(self.net, self.x, y, self.lab.device)[0]
        self.key = image_key(x)
        self.n = 0

    def __call__(self, eps: float) -> tuple[np.ndarray, int]:
        self.n += 1
        if self.model == "vac":  # through the queue, batched with everyone's rows
            e, a = settle([eps], self.steps, self.alpha, self.norm, self.target, self.adaptive)
            row = ((self.name, self.key, self.y, self.norm, self.steps, float(a[0]), "flip", self.target, self.adaptive),
                   float(e[0]))  # every setting in the key: equal keys share one computation
            group = (self.name, self.norm, self.steps, self.adaptive, self.target is None)
            [future] = queue().submit(self.owner, group, [(row, (self.x, self.y, float(e[0]), float(a[0]),
                                                                 self.target), FIRST)])
            x_adv = future.result()[None].to(self.lab.device)  # (1, 1, 28, 28)
        else:
            dev = self.lab.device
            a = default_alpha(np.array([eps]), self.steps, self.norm)[0] if self.alpha is None else self.alpha
            t = None if self.target is None else torch.tensor([self.target], device=dev)
            x_adv = pgd(self.net, self.x[None].to(dev), torch.tensor([self.y], device=dev), eps=eps, alpha=float(a),
                        steps=self.steps, norm=self.norm, target=t)
        with torch.no_grad(), eval_mode(self.net):
            pred = int(self.net.classify(x_adv).argmax())
        return x_adv[0, 0].float().cpu().numpy(), pred

    def clean(self) -> int:
        """The model's answer on the input itself."""
        with torch.no_grad(), eval_mode(self.net):
            return int(self.net.classify(self.x[None].to(self.lab.device)).argmax())

    def caught(self, x_adv: np.ndarray) -> bool:
        if self.model != "vac":
            return False  # no decoder, no detector
        xa = torch.from_numpy(np.asarray(x_adv, dtype=np.float32)[None, None]).to(self.lab.device)
        with torch.no_grad(), eval_mode(self.lab.model):
            return bool(reconstruction_error(self.lab.model, xa) > self.lab.detector.threshold)
