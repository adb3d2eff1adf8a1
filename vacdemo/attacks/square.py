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
    Each image draws its randomness from its own generator (seeded with seed + its row), so an image's search is
    the same whatever batch it runs in: square_start / square_steps / square_result run it in slices, rows of
    several images stacked (the app's shared queue does, between other students' PGD answers).
    Returns a SquareResult; ‖x_adv − x‖∞ ≤ ε, x_adv ∈ [0, 1]; x and the model's mode are untouched.

    >>> r = square(model, x, y, eps=0.3, queries=1000)   # r.x_adv, r.queries, r.fooled, r.p_true
    """
    state = square_start(model, x, y, eps=eps, queries=queries, p_init=p_init,
                         seeds=[seed * 1_000_003 + i for i in range(len(x))], target=target, redraw=redraw)
    square_steps(model, state, queries - 1, on_step=on_step)
    return square_result(state)


@dataclass
class SquareState:
    """Searches in progress, one per row: rows of different images (and students) stack into one batch."""
    x: torch.Tensor  # (B, 1, 28, 28) the clean images
    y: torch.Tensor  # (B,)
    target: torch.Tensor | None  # (B,) or None (untargeted)
    eps: torch.Tensor  # (B, 1, 1, 1)
    draws: torch.Tensor  # (B, budget − 1, 3) each iteration's uniforms: the square's row, its column, its sign
    budget: int  # queries per image
    p_init: float
    redraw: bool
    x_best: torch.Tensor  # (B, 1, 28, 28)
    best: torch.Tensor  # (B,) margin loss at x_best; ≤ 0: fooled
    p_best: torch.Tensor  # (B,) P(y) at x_best
    used: torch.Tensor  # (B,) int64 queries spent
    p_true: torch.Tensor  # (B, budget) P(y) after each query; columns past a row's `used` are filled at the end

    @property
    def running(self) -> torch.Tensor:
        """(B,) bool: still searching (not fooled, budget left, ε > 0)."""
        return (self.best > 0) & (self.eps.view(-1) > 0) & (self.used < self.budget)

    def rows(self) -> list["SquareState"]:
        """One state per row (to hand back to each image's owner), copied: a row must not keep its batch alive."""
        return [self.take(slice(i, i + 1), copy=True) for i in range(len(self.x))]

    def take(self, idx, copy: bool = False) -> "SquareState":
        def cut(t):
            return None if t is None else (t[idx].clone() if copy else t[idx])
        return SquareState(cut(self.x), cut(self.y), cut(self.target), cut(self.eps), cut(self.draws), self.budget,
                           self.p_init, self.redraw, cut(self.x_best), cut(self.best), cut(self.p_best),
                           cut(self.used), cut(self.p_true))


def stack(states: list[SquareState]) -> SquareState:
    """Rows of several states (the same budget, p_init and redraw; all targeted or none) as one batch."""
    first = states[0]
    if any((s.budget, s.p_init, s.redraw, s.target is None) != (first.budget, first.p_init, first.redraw,
                                                                 first.target is None) for s in states):
        raise SettingsError("only searches with the same budget, p_init, redraw and kind stack into one batch")

    def cat(name):
        return torch.cat([getattr(s, name) for s in states])
    return SquareState(cat("x"), cat("y"), None if first.target is None else cat("target"), cat("eps"), cat("draws"),
                       first.budget, first.p_init, first.redraw, cat("x_best"), cat("best"), cat("p_best"),
                       cat("used"), cat("p_true"))


def square_start(model: BetaVAC, x: torch.Tensor, y: torch.Tensor, *, eps, queries: int = 1000, p_init: float = 0.8,
                 seeds: list[int], target=None, redraw: bool = True) -> SquareState:
    """Check the settings, draw every row's randomness from its own seed, and spend the first query (the stripes)."""
    if target is not None:
        target = torch.as_tensor(target, device=x.device).long()
        if target.dim() > 1 or (target.dim() == 1 and len(target) != len(x)):
            raise SettingsError(f"target must be a class or a ({len(x)},) tensor, not shape {tuple(target.shape)}")
        target = target.expand(len(x)).clone()
    if not (isinstance(queries, int) and queries >= 1):
        raise SettingsError(f"queries must be an integer ≥ 1 (the first evaluation counts), not {queries!r}")
    check_inputs(x, y, "inf", "margin", queries, target)
    if not 0 < p_init <= 1:
        raise SettingsError(f"p_init must lie in (0, 1] (a fraction of the image), not {p_init}")
    if len(seeds) != len(x):
        raise SettingsError(f"one seed per image: {len(seeds)} seeds for {len(x)} images")
    eps = per_sample(eps, x, "eps")  # (B, 1, 1, 1)
    x, b, w = x.detach(), len(x), x.shape[3]
    stripes, draws = [], []
    for seed in seeds:  # drawn on the CPU, so a seed gives the same draws on every device and in every batch
        g = torch.Generator().manual_seed(int(seed))
        stripes.append(torch.rand(1, 1, w, generator=g))
        draws.append(torch.rand(queries - 1, 3, generator=g))
    stripes = torch.where(torch.stack(stripes).to(x.device) < 0.5, -1.0, 1.0)  # one sign per column of each image
    with eval_mode(model), torch.no_grad():
        x_best = (x + eps * stripes).clamp(0, 1)
        logits = model.classify(x_best).float()
    state = SquareState(x, y, target, eps, torch.stack(draws).to(x.device), queries, p_init, redraw, x_best,
                        torch.zeros(b, device=x.device), torch.zeros(b, device=x.device),
                        torch.ones(b, dtype=torch.long, device=x.device), torch.zeros(b, queries, device=x.device))
    everyone = torch.arange(b, device=x.device)
    state.best, state.p_best = loss_of(state, logits, everyone), p_of_y(state, logits, everyone)
    state.p_true[:, 0] = state.p_best
    return state


def loss_of(state: SquareState, logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """The margin loss to minimise; ≤ 0 ⇔ fooled (targeted: ⇔ the target is on top)."""
    return margin(logits, state.target[idx]) if state.target is not None else -margin(logits, state.y[idx])


def p_of_y(state: SquareState, logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return logits.softmax(1).gather(1, state.y[idx, None]).squeeze(1)


def square_steps(model: BetaVAC, state: SquareState, iterations: int, on_step=None) -> SquareState:
    """Up to `iterations` more queries per running row (in place); rows may stand at different iterations."""
    h, w = state.x.shape[2], state.x.shape[3]
    rows = torch.arange(h, device=state.x.device).view(1, 1, h, 1)
    cols = torch.arange(w, device=state.x.device).view(1, 1, 1, w)
    halvings = torch.tensor(HALVINGS, device=state.x.device)
    with eval_mode(model), torch.no_grad():
        for step in range(iterations):
            idx = state.running.nonzero().squeeze(1)
            if len(idx) == 0:
                break
            i = state.used[idx] - 1  # each row's own iteration (0-based, after the first query)
            it = (i.double() / state.budget * 10000).long()  # p_selection, vectorised over rows
            p = state.p_init / 2.0 ** (it[:, None] > halvings).sum(1)
            s = (p * h * w).sqrt().round().clamp(min=1).long().view(-1, 1, 1, 1)
            u = state.draws[idx, i]  # (n, 3)
            x0, xb, e = state.x[idx], state.x_best[idx], state.eps[idx]
            top = (u[:, 0].view(-1, 1, 1, 1) * (h - s + 1)).long()  # the square's corner, uniform over 0 … h − s
            left = (u[:, 1].view(-1, 1, 1, 1) * (w - s + 1)).long()
            window = (rows >= top) & (rows < top + s) & (cols >= left) & (cols < left + s)  # (n, 1, h, w)
            sign = torch.where(u[:, 2].view(-1, 1, 1, 1) < 0.5, -1.0, 1.0)
            # a sign that leaves the whole window as it is would waste a query (every pixel is at x ± ε already):
            # the paper's code redraws until the window changes, which with one channel means the other sign
            same = (((x0 + e * sign).clamp(0, 1) - xb).abs() < 1e-7).logical_or(~window).flatten(1).all(1)
            if state.redraw:
                sign[same] = -sign[same]
            x_new = torch.where(window, (x0 + e * sign).clamp(0, 1), xb)
            logits = model.classify(x_new).float()
            new = loss_of(state, logits, idx)
            better = new < state.best[idx]
            kept = idx[better]
            state.x_best[kept], state.best[kept] = x_new[better], new[better]
            state.p_best[kept] = p_of_y(state, logits, idx)[better]
            state.p_true[idx, i + 1] = state.p_best[idx]
            state.used[idx] += 1
            if on_step is not None:
                on_step(step + 1, iterations)
    return state


def square_result(state: SquareState) -> SquareResult:
    """The search as it stands: a row that stopped keeps its last P(y) for the rest of the budget."""
    q = torch.arange(state.budget, device=state.x.device)
    p_true = torch.where(q[None] < state.used[:, None], state.p_true, state.p_best[:, None])
    return SquareResult(state.x_best, state.used, state.best <= 0, state.best, p_true)
