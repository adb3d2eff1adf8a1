"""Square Attack (ℓ∞): a black-box random search on model.classify that reads no gradient and counts every query.

Andriushchenko, Croce, Flammarion, Hein, "Square Attack: a query-efficient black-box adversarial attack via random
search", ECCV 2020. A model that resists PGD but falls to Square masks its gradients. tests/test_square.py checks
it against torchattacks.Square; scripts/square_vs_torchattacks.py runs the full comparison.
"""
import math
from dataclasses import dataclass

import torch

from .pgd import check_inputs, margin, per_sample
from ..errors import SettingsError
from ..models.vac import BetaVAC, eval_mode

# Cost in forward-pass equivalents per image. Square: its query count (one forward each, no backward). A PGD step:
# one forward and one backward to the input; we assume a backward costs about two forwards (the usual rule of
# thumb for convolutional nets), so 3. scripts/square_vs_torchattacks.py measures the ratio on the shipped model.
PGD_STEP_FORWARDS = 3
HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)  # where p halves, written for 10,000 iterations


@dataclass
class SquareResult:
    x_adv: torch.Tensor  # (B, 1, 28, 28) the best point found (the first fooling one, once fooled)
    queries: torch.Tensor  # (B,) int64: images each one sent through model.classify, the first (stripes) included
    fooled: torch.Tensor  # (B,) bool: loss ≤ 0 (a tie counts, as the paper's code)
    loss: torch.Tensor  # (B,) at x_adv: logit_y − max_{j≠y} logit_j (targeted: max_{j≠t} logit_j − logit_t)
    p_true: torch.Tensor  # (B, budget) softmax probability of y at the best point after q = 1 … budget queries

    @property
    def forward_equivalents(self) -> torch.Tensor:
        """Each image's cost in forward passes, (B,): its queries (compare PGD's PGD_STEP_FORWARDS · steps)."""
        return self.queries.float()


def p_selection(p_init: float, i: int, queries: int) -> float:
    """The fraction of the image a square covers at iteration i (0-based, after the first query): the paper's
    schedule, written for 10,000 iterations and rescaled to the budget as torchattacks' Square does."""
    it = int(i / queries * 10000)
    return p_init / 2 ** sum(it > h for h in HALVINGS)


def square(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, *, eps, queries: int = 1000, p_init: float = 0.8,
           seed: int = 0, target=None, on_step=None, redraw: bool = True) -> SquareResult:
    """ℓ∞ Square Attack on model.classify (z = mu(x)), fp32, under no_grad: the paper's Algorithm 1.

    x (B, 1, 28, 28) in [0, 1]; y (B,) true classes. eps: ε, a number or a (B,) tensor (one ε per image).
    queries: the budget per image, the first evaluation included (an image stops at its budget or once fooled, so
    an image fooled at the start costs 1 query). p_init (0.8, torchattacks' default): the fraction of the 784
    pixels the first squares cover; it halves along p_selection's schedule. seed: every random draw comes from a
    torch.Generator seeded with it, so the result is deterministic. target: a class or (B,) classes to turn x
    into. on_step(i, queries − 1), when given, is called after each iteration.
    Start: vertical stripes, each column of each image at x ± ε. Each iteration, every image still in the game
    draws its own s × s square and sign and sets that window to x ± ε; the point is kept when the margin loss
    strictly falls. redraw (True, as the paper's code): a sign that would leave the whole window unchanged is
    flipped instead of spent on a query; torchattacks (and AutoAttack) spend it, which wastes up to half of the
    late queries, once squares are 1 × 1. redraw=False reproduces that (tests/test_square.py compares like with
    like). Other differences from torchattacks: each image draws its own square (torchattacks one for the whole
    batch, the paper's code one per image); the corner ranges over 0 … 28 − s (both others never draw 28 − s);
    torchattacks spends one more query per image on the clean image before the search and one after it.
    Returns a SquareResult; ‖x_adv − x‖∞ ≤ ε, x_adv ∈ [0, 1]; x and the model's mode are untouched.

    >>> r = square(model, x, y, eps=0.3, queries=1000)   # r.x_adv, r.queries, r.fooled, r.p_true
    """
    if target is not None:
        target = torch.as_tensor(target, device=x.device).long()
        if target.dim() > 1 or (target.dim() == 1 and len(target) != len(x)):
            raise SettingsError(f"target must be a class or a ({len(x)},) tensor, not shape {tuple(target.shape)}")
        target = target.expand(len(x))
    if not (isinstance(queries, int) and queries >= 1):
        raise SettingsError(f"queries must be an integer ≥ 1 (the first evaluation counts), not {queries!r}")
    check_inputs(x, y, "inf", "margin", queries, target)
    if not 0 < p_init <= 1:
        raise SettingsError(f"p_init must lie in (0, 1] (a fraction of the image), not {p_init}")
    eps = per_sample(eps, x, "eps")  # (B, 1, 1, 1)
    x, b, h, w = x.detach(), len(x), x.shape[2], x.shape[3]
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape):  # drawn on the CPU, so a seed gives the same draws on every device
        return torch.rand(shape, generator=generator).to(x.device)

    def loss(logits, idx):  # to minimise; ≤ 0 ⇔ fooled
        return margin(logits, target[idx]) if target is not None else -margin(logits, y[idx])

    def p_of_y(logits, idx):
        return logits.softmax(1).gather(1, y[idx, None]).squeeze(1)

    everyone = torch.arange(b, device=x.device)
    rows = torch.arange(h, device=x.device).view(1, 1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, 1, w)
    with eval_mode(model), torch.no_grad():
        stripes = torch.where(rand(b, 1, 1, w) < 0.5, -1.0, 1.0)  # one sign per column of each image
        x_best = (x + eps * stripes).clamp(0, 1)
        logits = model.classify(x_best).float()
        best, p_best = loss(logits, everyone), p_of_y(logits, everyone)
        used = torch.ones(b, dtype=torch.long, device=x.device)
        p_true = p_best[:, None].repeat(1, queries)  # (B, budget); columns rewritten as the search goes
        for i in range(queries - 1):
            idx = ((best > 0) & (eps.view(-1) > 0)).nonzero().squeeze(1)  # ε = 0: nothing to search
            if len(idx) == 0:
                p_true[:, i + 1:] = p_best[:, None]
                break
            s = max(round(math.sqrt(p_selection(p_init, i, queries) * h * w)), 1)
            n, x0, xb, e = len(idx), x[idx], x_best[idx], eps[idx]
            top = (rand(n) * (h - s + 1)).long().view(-1, 1, 1, 1)  # the square's corner, uniform over 0 … h − s
            left = (rand(n) * (w - s + 1)).long().view(-1, 1, 1, 1)
            window = (rows >= top) & (rows < top + s) & (cols >= left) & (cols < left + s)  # (n, 1, h, w)
            sign = torch.where(rand(n, 1, 1, 1) < 0.5, -1.0, 1.0)
            # a sign that leaves the whole window as it is would waste a query (every pixel is at x ± ε already):
            # the paper's code redraws until the window changes, which with one channel means the other sign
            same = (((x0 + e * sign).clamp(0, 1) - xb).abs() < 1e-7).logical_or(~window).flatten(1).all(1)
            if redraw:
                sign[same] = -sign[same]
            x_new = torch.where(window, (x0 + e * sign).clamp(0, 1), xb)
            logits = model.classify(x_new).float()
            new = loss(logits, idx)
            used[idx] += 1
            better = new < best[idx]
            kept = idx[better]
            x_best[kept], best[kept], p_best[kept] = x_new[better], new[better], p_of_y(logits, idx)[better]
            p_true[:, i + 1] = p_best
            if on_step is not None:
                on_step(i + 1, queries - 1)
    return SquareResult(x_best, used, best <= 0, best, p_true)
