"""Second opinions on one model's robustness (issue 16, item 5): is PGD-40's answer the attack's or the model's?

On the same test images as the main measurements (the first n of its seeded draw), at the paper's table ε:
the paper's PGD-40 (fp32, sign step), PGD-40 with the raw step α∇L of the paper's Algorithm 2 as written,
APGD (margin loss, 100 steps, restarts: a stronger gradient attack) and Square (gradient-free: robustness
that survives gradient attacks but not Square is gradient masking). Stored per image, so the report can
take the minimum over attacks and resample the images.
"""
import time

import torch

from ..attacks.apgd import apgd
from ..attacks.pgd import default_alpha, pgd
from ..errors import SettingsError
from ..attacks.evaluate import batched
from ..models.vac import BetaVAC, Classify
from .measure import SUBSET, test_subset

SECOND = "second"  # second.safetensors (per image, per ε: right after each attack) + second.json
N_SQUARE = 200  # at most this many test images for Square (a thousand queries each)
APGD_STEPS, APGD_RESTARTS, SQUARE_QUERIES = 100, 3, 1000


def square(model: BetaVAC, x, y, eps: float, queries: int, seed: int = 0) -> torch.Tensor:
    """torchattacks.Square (ℓ∞, margin loss): a random search that never reads a gradient."""
    try:
        import torchattacks
    except ImportError as e:
        raise SettingsError("the Square attack needs torchattacks: pip install --no-deps torchattacks==3.5.1") from e
    attack = torchattacks.Square(Classify(model), norm="Linf", eps=eps, n_queries=queries, n_restarts=1, seed=seed,
                                 loss="margin")
    return attack(x, y)


def second_opinions(model: BetaVAC, test, eps_list: list[float], *, n: int, steps: int = 40, batch_size: int = 500,
                    square_queries: int = SQUARE_QUERIES) -> tuple[dict[str, torch.Tensor], dict]:
    """{attack name: (len(eps_list), n) bool, right after that attack (Square: its first images only)}."""
    start = time.perf_counter()
    model.eval().requires_grad_(False)
    index = test_subset(len(test), n)
    x, y = test.batch(index.to(test.images.device))
    xs, ys = x[:N_SQUARE], y[:N_SQUARE]

    def right(x_adv, y_):
        with torch.no_grad():
            return batched(lambda s: model.classify(x_adv[s]).argmax(1), len(x_adv), batch_size) == y_

    out = {"pgd_sign": [], "pgd_raw": [], "apgd": [], "square": []}
    for eps in eps_list:
        alpha = default_alpha(eps, steps, "inf")
        for step in ("sign", "raw"):
            x_adv = batched(lambda s: pgd(model, x[s], y[s], eps=eps, alpha=alpha, steps=steps, fast=False, step=step),
                            len(x), batch_size)
            out[f"pgd_{step}"].append(right(x_adv, y))
        out["apgd"].append(right(apgd(model, x, y, eps=eps, steps=APGD_STEPS, restarts=APGD_RESTARTS), y))
        out["square"].append(right(square(model, xs, ys, eps, square_queries), ys))
    tensors = {k: torch.stack(v).cpu() for k, v in out.items()} | {"index": index.cpu()}
    meta = {"eps": list(eps_list), "n": len(x), "subset": SUBSET, "n_square": len(xs), "steps": steps,
            "apgd": {"steps": APGD_STEPS, "restarts": APGD_RESTARTS, "loss": "margin"},
            "square": {"queries": square_queries, "loss": "margin"}, "wall_s": round(time.perf_counter() - start, 1)}
    return tensors, meta
