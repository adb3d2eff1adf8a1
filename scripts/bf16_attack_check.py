"""Does bf16 autocast weaken PGD? The shipped MNIST model attacked on the CPU in fp32 and in bf16 (forced,
even where the CPU emulates it), 200 test images: python scripts/bf16_attack_check.py."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's vacdemo, from any folder

import time

import torch

from vacdemo import load_pretrained
from vacdemo.attacks import pgd as P
from vacdemo.data import load_split


def robust_accuracy(model, x, y, eps: float) -> float:
    x_adv = P.pgd(model, x, y, eps=eps, alpha=0.01, steps=40)
    return (model.classify(x_adv).argmax(1) == y).float().mean().item()


if __name__ == "__main__":
    model = load_pretrained("mnist").requires_grad_(False)
    x, y = load_split("mnist", False).batch(slice(0, 200))
    fp32 = P.autocast
    for eps in (0.0375, 0.075):
        start = time.perf_counter()
        a = robust_accuracy(model, x, y, eps)
        P.autocast = lambda device, on: torch.autocast("cpu", dtype=torch.bfloat16) if on else fp32(device, on)
        b = robust_accuracy(model, x, y, eps)
        P.autocast = fp32
        print(f"ε = {eps}: robust accuracy fp32 {a:.3f}, bf16 {b:.3f} ({time.perf_counter() - start:.0f} s)")
