"""What a wider classifier head costs the attack (issue 30's hidden-128 lever): PGD-20 on a batch of 21, the ship
recipe's Fashion-MNIST shape with the head 64 and 128 wide, timed in turn, medians of 7. Random weights: the time
does not depend on them. Run it on idle cores.

python scripts/head_cost.py [--dataset fmnist|mnist]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vacdemo.attacks.pgd import pgd  # noqa: E402
from vacdemo.config import preset  # noqa: E402
from vacdemo.models.vac import BetaVAC  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", choices=["mnist", "fmnist"], default="fmnist")
    args = ap.parse_args()
    torch.manual_seed(0)
    models = {h: BetaVAC(preset("ship", dataset=args.dataset, hidden=h).shape).eval().requires_grad_(False)
              for h in (64, 128)}
    x, y = torch.rand(21, 1, 28, 28), torch.randint(0, 10, (21,))
    times: dict[int, list[float]] = {h: [] for h in models}
    for _ in range(7):
        for h, m in models.items():
            start = time.perf_counter()
            pgd(m, x, y, eps=0.05, alpha=0.01, steps=20)
            times[h].append(time.perf_counter() - start)
    print("| head | parameters | PGD-20, batch 21 (median of 7) |\n|---:|---:|---:|")
    for h, m in models.items():
        print(f"| {h} | {sum(p.numel() for p in m.parameters()):,} | {statistics.median(times[h]):.3f} s |")
    print(f"ratio 128 / 64: {statistics.median(times[128]) / statistics.median(times[64]):.2f}")


if __name__ == "__main__":
    main()
