"""Would reading a sampled z at test time (z = μ + σ·ξ, not μ) explain the paper's lower Fashion-MNIST
robustness at ε = 0.025? PGD-40 attacks z = μ(x) as everywhere in vacdemo; each attacked image is then
classified from μ and from 20 samples of z. 500 of the study's test images (seeded draw, seed 0).
    python scripts/sampled_z_check.py [CHECKPOINT_DIR ...]   (default: the CPU study's seed-0 C = 0.1 and
    C = 10 models under runs/reproduce/cpu-fast-fmnist, else the shipped pretrained/fmnist)"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's vacdemo, from any folder

import torch

from vacdemo.attacks.pgd import pgd
from vacdemo.models.checkpoint import load_checkpoint
from vacdemo.data import load_split
from vacdemo.study.measure import test_subset

STUDY = Path("runs/reproduce/cpu-fast-fmnist")
SAMPLES = 20


def accuracies(model, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Accuracy reading z = μ(x), and averaged over SAMPLES draws of z ~ q(z|x)."""
    with torch.no_grad():
        mu, logvar = model.encode(x)
        z = model.reparameterize(mu, logvar, samples=SAMPLES)
        sampled = model.classifier(z).argmax(-1) == y
        return (model.classifier(mu).argmax(1) == y).float().mean().item(), sampled.float().mean().item()


if __name__ == "__main__":
    torch.manual_seed(0)
    dirs = sys.argv[1:] or ([STUDY / f"fmnist-C{c}-l1_0" for c in ("0.1", "10")]
                            if STUDY.exists() else [Path("pretrained/fmnist")])
    test = load_split("fmnist", train=False)
    x, y = test.batch(test_subset(len(test.labels), 500))
    print("| model | median σ | median s.d. of μ over images | ε | accuracy from μ | from a sampled z |")
    print("|---|---|---|---|---|---|")
    for d in dirs:
        model = load_checkpoint(d).eval().float().requires_grad_(False)
        with torch.no_grad():
            mu, logvar = model.encode(x)
        sd, spread = (0.5 * logvar).exp().median().item(), mu.std(0).median().item()
        for eps in (0.0, 0.025, 0.05):
            x_adv = x if eps == 0 else pgd(model, x, y, eps=eps, alpha=0.01, steps=40, fast=False)
            a_mu, a_z = accuracies(model, x_adv, y)
            print(f"| {d} | {sd:.3g} | {spread:.3g} | {eps} | {a_mu:.3f} | {a_z:.3f} |")
