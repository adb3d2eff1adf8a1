"""The model card's comparison: the β-VAC beside the plain CNN and the adversarially trained CNN, measured on
the test set (`python -m vacdemo card`). Writes pretrained/<data set>/compare.json, which the app's comparison
charts (never computed on page load), and returns the card's Markdown.
"""
import json
import time
from pathlib import Path

import torch

from ..attacks.apgd import apgd
from ..attacks.pgd import pgd
from ..attacks.compare import read, transfer_rates
from ..data import Split
from ..training.evaluate import evaluate
from ..models.vac import eval_mode
from ..datasets import EPS_MAX
from ..paper import TABLE_EPS
from ..lab.sweep import eps_grid

USUAL_EPS = EPS_MAX  # the range's top: where adversarial training defends (Madry et al.), and transfer is read
STRONG_N = 200  # test images for the stronger attack (APGD, 3 restarts × 100 steps)


def robust_curve(model, x, y, eps_list, batch: int = 500) -> list[float]:
    """PGD-40 (the paper's step 0.01) accuracy at each ε."""
    out = []
    for eps in eps_list:
        right = 0
        for s in range(0, len(x), batch):
            xb, yb = x[s:s + batch], y[s:s + batch]
            x_adv = pgd(model, xb, yb, eps=float(eps)) if eps > 0 else xb
            with torch.no_grad():
                right += (read(model, x_adv).argmax(1) == yb).sum().item()
        out.append(right / len(x))
    return out


def stronger(model, x, y, eps: float) -> float:
    """min over PGD-40 and APGD (margin loss, restarts) of the accuracy at eps, per image."""
    with eval_mode(model):
        x_pgd, x_apgd = pgd(model, x, y, eps=eps, fast=False), apgd(model, x, y, eps=eps)
        with torch.no_grad():
            ok = (model.classify(x_pgd).argmax(1) == y) & (model.classify(x_apgd).argmax(1) == y)
    return ok.float().mean().item()


def comparison_section(models: dict, name: str, test: Split, n: int, out: Path) -> str:
    """Markdown for the card, and out/compare.json for the app."""
    start = time.perf_counter()
    x, y = test.batch(slice(0, n))
    cols = [round(e, 6) for e in TABLE_EPS[name][1:]]  # the card's table: the paper's ε columns
    # the app's chart: every other ε of the slider's grid, and the paper's columns
    eps_list = sorted({round(float(e), 6) for e in eps_grid(name, "inf")[::2]} | set(cols))
    usual = USUAL_EPS[name]
    clean = {k: evaluate(m, test, torch.device("cpu"))["accuracy"] for k, m in models.items()}
    curves = {k: robust_curve(m, x, y, eps_list) for k, m in models.items()}
    strong = {e: {k: stronger(m, x[:STRONG_N], y[:STRONG_N], e) for k, m in models.items()} for e in (cols[0], usual)}
    transfer = transfer_rates(models, x, y, usual)
    data = {"dataset": name, "n": n, "eps": eps_list, "clean": clean, "robust": curves, "usual_eps": usual,
            "stronger_n": STRONG_N, "stronger": [{"eps": e, "accuracy": acc} for e, acc in strong.items()],
            "transfer": transfer, "seconds": round(time.perf_counter() - start)}
    (out / "compare.json").write_text(json.dumps(data, indent=1))
    names = list(models)
    lines = [f"### `{name}`: the β-VAC beside a plain and an adversarially trained CNN", "",
             f"Clean accuracy on the full test set; PGD-40 robust accuracy (ℓ∞, step 0.01) on the first {n} test "
             f"images; at ε = {cols[0]:g} and {usual:g}, also the minimum over PGD-40 and APGD (margin loss, 3 restarts "
             f"× 100 steps, fp32) on the first {STRONG_N}. Only the β-VAC has a detector (its own section above).", "",
             "| model | clean | " + " | ".join(f"ε = {e:g}" for e in cols) +
             f" | ε = {cols[0]:g}, PGD or APGD | ε = {usual:g}, PGD or APGD |", "|---|---:|" + "---:|" * (len(cols) + 2)]
    for k in names:
        lines.append(f"| {k} | {clean[k]:.3f} | " + " | ".join(f"{curves[k][eps_list.index(e)]:.3f}" for e in cols) +
                     f" | {strong[cols[0]][k]:.3f} | {strong[usual][k]:.3f} |")
    lines += ["", f"Transfer at ε = {usual:g}: among the images the row's attack fooled its own model on (and both "
                  "models read right clean), the share that also fool the column's model (how many such images):", "",
              "| attack made for ↓ · fools → | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for i, src in enumerate(names):
        lines.append(f"| {src} | " + " | ".join(f"{transfer['transfer'][i][j]:.2f} ({transfer['counts'][i][j]})"
                                               for j in range(len(names))) + " |")
    return "\n".join(lines) + "\n"
