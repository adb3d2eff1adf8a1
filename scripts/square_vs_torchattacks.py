"""Our Square Attack (vacdemo.attacks.square) against torchattacks.Square at an equal budget, on the shipped models:
the first N test images each model gets right, the paper's ε columns, ℓ∞, margin loss, p_init 0.8, seed 0. Prints a
Markdown table (success rates, mean queries, cost in forward passes next to PGD-40's) and the measured cost of a
PGD step in forward passes: python scripts/square_vs_torchattacks.py [--n 200] [--queries 1000] [--data mnist]."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's vacdemo, from any folder

import argparse
import math
import platform
import time

import torch
import torchattacks
from torch import nn

from vacdemo import load_pretrained
from vacdemo.attacks.pgd import pgd
from vacdemo.attacks.square import PGD_STEP_FORWARDS, square
from vacdemo.data import load_split
from vacdemo.models.vac import Classify

EPS = {"mnist": (0.075, 0.15, 0.225, 0.3), "fmnist": (0.025, 0.05, 0.075, 0.1)}  # the paper's columns
EXTRA = {"mnist": (0.02,), "fmnist": ()}  # * in the table: MNIST falls at every paper ε; here about half do
PGD_STEPS = 40


class Counted(nn.Module):
    """Classify(model), counting the images torchattacks sends through it (one image = one query)."""

    def __init__(self, model):
        super().__init__()
        self.net, self.images = Classify(model), 0
        self.eval()

    def forward(self, x):
        self.images += len(x)
        return self.net(x)


def first_right(model, name: str, n: int):
    """The first n test images the model classifies correctly (the paper counts success among those)."""
    x, y = load_split(name, False).batch(slice(0, 2 * n))
    with torch.no_grad():
        right = model.classify(x).argmax(1) == y
    if right.sum() < n:
        raise SystemExit(f"only {int(right.sum())} of the first {2 * n} {name} test images are classified right")
    return x[right][:n], y[right][:n]


def fooled(model, x_adv, y) -> torch.Tensor:
    with torch.no_grad():
        return model.classify(x_adv).argmax(1) != y


def pgd_step_in_forwards(model, x, y, repeats: int = 20) -> float:
    """Wall time of one PGD step (a forward keeping the graph, a backward to the input, the projection) over that of
    one forward under no_grad, same batch: the measured counterpart of PGD_STEP_FORWARDS. The two are timed in
    turn and each keeps its fastest run, so other processes on the machine slow neither more than the other."""
    def seconds(f) -> float:
        start = time.perf_counter()
        f()
        return time.perf_counter() - start

    def forward():
        with torch.no_grad():
            model.classify(x)

    def step():
        pgd(model, x, y, eps=0.1, steps=1, fast=False)

    forward(), step()  # warm-up: the first call of a batch size pays for allocation and kernel choice
    times = [(seconds(forward), seconds(step)) for _ in range(repeats)]
    return min(t for _, t in times) / min(f for f, _ in times)


def rows_for(name: str, n: int, queries: int):
    model = load_pretrained(name).requires_grad_(False)
    x, y = first_right(model, name, n)
    ratio = pgd_step_in_forwards(model, x, y)
    for eps in (*EPS[name], *EXTRA[name]):
        start = time.perf_counter()
        ours = square(model, x, y, eps=eps, queries=queries)
        plain = square(model, x, y, eps=eps, queries=queries, redraw=False)
        counted = Counted(model)
        theirs = torchattacks.Square(counted, norm="Linf", eps=eps, n_queries=queries, n_restarts=1, p_init=0.8,
                                     loss="margin", seed=0)(x, y)
        # torchattacks also sends every image through once before its search (the clean check) and once after
        their_queries = counted.images / n - 2
        strong = pgd(model, x, y, eps=eps, steps=PGD_STEPS, fast=False)
        rates = [fooled(model, a, y).float().mean().item() for a in (ours.x_adv, theirs, plain.x_adv, strong)]
        assert rates[0] == ours.fooled.float().mean().item() and rates[2] == plain.fooled.float().mean().item()
        yield dict(data=name, eps=eps, extra=eps in EXTRA[name], ours=rates[0], theirs=rates[1], plain=rates[2],
                   pgd=rates[3], our_queries=ours.queries.float().mean().item(),
                   plain_queries=plain.queries.float().mean().item(), their_queries=their_queries,
                   seconds=time.perf_counter() - start, ratio=ratio)


def table(rows, n: int, queries: int) -> str:
    pgd_cost = PGD_STEPS * PGD_STEP_FORWARDS
    lines = ["| data | ε | ours | torchattacks | difference | ours, redraw=False | our mean queries "
             "| torchattacks' mean queries | ours, redraw=False, mean queries | cost, forward passes: Square (ours) "
             f"/ PGD-{PGD_STEPS} | PGD-{PGD_STEPS} success | wall s |",
             "|" + "---|" * 12]
    for r in rows:
        lines.append(f"| {r['data']} | {r['eps']:g}{'*' if r['extra'] else ''} | {r['ours']:.3f} | {r['theirs']:.3f} "
                     f"| {r['ours'] - r['theirs']:+.3f} | {r['plain']:.3f} | {r['our_queries']:.1f} "
                     f"| {r['their_queries']:.1f} | {r['plain_queries']:.1f} | {r['our_queries']:.0f} / {pgd_cost} "
                     f"| {r['pgd']:.3f} | {r['seconds']:.0f} |")
    one, two = 1.96 * math.sqrt(0.25 / n), 1.96 * math.sqrt(0.5 / n)
    ratios = ", ".join(sorted({f"{r['data']} {r['ratio']:.2f} (PGD-{PGD_STEPS} ≈ {PGD_STEPS * r['ratio']:.0f} "
                               "forwards)" for r in rows}))
    return "\n".join([
        f"Square ℓ∞, margin loss, p_init 0.8, seed 0, {queries} queries, the first {n} test images each model gets "
        f"right; success = the model's argmax on x_adv ≠ y. {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}.", "", *lines, "",
        f"95 % intervals at n = {n}, p = ½: one binomial ±{one:.3f}; the difference of two independent ones "
        f"±{two:.3f}. * not a paper column. Our queries count every image through model.classify, the first "
        f"(stripes) included; torchattacks': counted the same way, less its clean check before and its check after "
        f"(it runs up to {queries} iterations after its first evaluation: one query more than ours). Cost: Square's "
        f"queries are forward passes; PGD-{PGD_STEPS} is {PGD_STEPS} × {PGD_STEP_FORWARDS} forward-equivalents "
        f"(a backward ≈ 2 forwards). Measured PGD step / no_grad forward, batch of {n}, fastest of 20 each: "
        f"{ratios}."])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--data", nargs="+", default=["mnist", "fmnist"], choices=sorted(EPS))
    args = parser.parse_args()
    rows = []
    for name in args.data:
        for row in rows_for(name, args.n, args.queries):
            rows.append(row)
            print(row, flush=True)  # progress, in case the run is cut short
    print(table(rows, args.n, args.queries))
