"""The model card's tables (pretrained/README.md), measured on the shipped checkpoints: `python -m vacdemo card`.

Everything between the card's markers is rewritten; the prose around it is left as it is.
"""
import re
import time

import torch

from ..config import flat, preset
from ..errors import SettingsError
from ..data import Split
from ..models.detector import Detector
from ..training.evaluate import evaluate
from ..attacks.evaluate import attack_table
from ..models.vac import BetaVAC
from ..paper import BEST_CAPACITY, DETECTION, ROBUST, TABLE_EPS
from ..lab.realset import realset_accuracy
from ..paths import REALSET

BEGIN, END = "<!-- card:begin (python -m vacdemo card writes what follows) -->", "<!-- card:end -->"

# The paper gives per-ε numbers only for its ℓ1 runs (Tables 1–4). The weakest ℓ1 there (λ = 1e-6) at the
# best capacity is the nearest to a plain β-VAC, and its clean accuracy is the paper's quoted one (94 %, 76 %).
PAPER = {name: {"robust": ROBUST[name][1e-6], "detection": DETECTION[name][1e-6],
                "source": f"Tables {tables}, C = {BEST_CAPACITY[name]}, λ = 1e-6"}
         for name, tables in (("mnist", "1 and 3"), ("fmnist", "2 and 4"))}


TITLES = {"mnist": "MNIST", "fmnist": "Fashion-MNIST"}
MAKER = {"mnist": "make_realset.py", "fmnist": "make_realset_fmnist.py"}


def threads_words(final: dict) -> str:
    n = final.get("threads")
    return "" if n is None else f" with {n} thread{'s' if n != 1 else ''}"


def train_command(model: BetaVAC) -> str:
    """The recorded command; for older checkpoints, rebuilt from the config's differences to its preset."""
    final = model.meta["metrics"].get("final", {})
    if "command" in final:
        return final["command"]
    cfg, name = model.cfg, model.meta["metrics"].get("preset", "fast")
    base = preset(name, dataset=cfg.dataset)
    ours, theirs = flat(cfg), flat(base)
    sets = [f"--set {k}={','.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in ours.items() if v != theirs[k]]
    return " ".join([f"python -m vacdemo train --dataset {cfg.dataset} --preset {name}", *sets])


def card_section(model: BetaVAC, detector: Detector, test: Split, n: int) -> str:
    """Markdown for one checkpoint: how it was made, clean accuracy, and the ε table beside the paper's."""
    name, cfg = model.cfg.dataset, model.cfg
    final = model.meta["metrics"].get("final", {})
    start = time.perf_counter()
    clean = evaluate(model, test, torch.device("cpu"))["accuracy"]
    rows = attack_table(model, detector, test, TABLE_EPS[name], n=n, adaptive=True)
    wall = time.perf_counter() - start
    paper = PAPER[name]
    params = sum(p.numel() for p in model.parameters())
    lines = [
        f"### `{name}`",
        "",
        f"- **Made by** `{train_command(model)}` on {final.get('device', '?')}"
        f"{threads_words(final)}: train loop "
        f"{final.get('wall_s', float('nan')):.0f} s, code {model.meta.get('code_version', '?')}.",
        f"- **Model**: widths {cfg.shape.width1}/{cfg.shape.width2} ({params / 1e6:.2f} M parameters; the paper's 96/192 has 5.9 M), "
        f"C = {cfg.capacity:g} (nats per latent dimension), β = {cfg.beta:g}, {cfg.epochs} epochs, batch {cfg.batch_size}.",
        f"- **Clean test accuracy**: **{clean:.2%}** on the full test set ({len(test):,} images); the paper's: "
        f"{paper['robust'][0]:.1%} ({paper['source']}).",
        f"- **Under attack** (PGD-40 ℓ∞, step 0.01, the first {n} test images; detector τ = {detector.threshold:.3f}, "
        f"fitted on {detector.meta.get('n_clean', '?')} training images; {wall:.0f} s to measure):",
        "",
        "| ε | robust acc | paper | detection acc | paper | AUC | detector-aware attack: success | clean passed (TNR) "
        "| detection acc, successful attacks only |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r, p_rob, p_det in zip(rows, paper["robust"], paper["detection"]):
        lines.append(f"| {r['eps']:.3f} | {r['robust_accuracy']:.3f} | {p_rob:.3f} | {r['detection_accuracy']:.3f} | "
                     f"{p_det:.3f} | {r['detection_auc']:.3f} | {r['adaptive_success']:.3f} | "
                     f"{r['detection_tnr']:.3f} | {r['detection_accuracy_successful']:.3f} |")
    if (REALSET / name).is_dir():
        lines += ["", realset_block(model, name)]
    return "\n".join(lines) + "\n"


REAL = "- **Real pictures**"


def realset_block(model: BetaVAC, name: str) -> str:
    """The card's real-picture table: accuracy per kind of realset/<name>."""
    real = realset_accuracy(model, name)
    lines = [f"{REAL} (`realset/{name}`: pictures from outside {TITLES[name]}, each read through "
             f"`preprocess_image` as an upload is; `scripts/{MAKER[name]}` made them):", "",
             "| kind | accuracy | correct |", "|---|---:|---:|"]
    lines += [f"| {kind} | {r['accuracy'] * 100:.1f} % | {r['correct']} / {r['n']} |" for kind, r in real.items()]
    return "\n".join(lines)


def with_realset(section: str, model: BetaVAC, name: str) -> str:
    """A data set's card sections with only the real-picture table measured again (the realset changed, the model
    did not); the other tables are kept as they are."""
    if REAL not in section or "\n|" not in section.split(REAL, 1)[1]:
        raise SettingsError(f"the card's {name} section has no real-picture table to replace: run the card without "
                            "--realset-only")
    head, rest = section.split(REAL, 1)
    table_end = rest.find("\n\n", rest.index("\n|"))  # the table ends at the first blank line after its first row
    tail = rest[table_end:] if table_end >= 0 else "\n"
    return head + realset_block(model, name) + tail


def sections_of(text: str) -> dict[str, str]:
    """{data set: its sections as the card has them} (each begins with a "### `name`" heading), in card order."""
    if BEGIN not in text or END not in text:
        return {}
    body = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    out: dict[str, str] = {}
    for block in re.split(r"(?m)^(?=### `)", body)[1:]:
        name = block.split("`")[1]
        out[name] = out.get(name, "") + block
    return {k: v.rstrip("\n") + "\n" for k, v in out.items()}


def fill(text: str, sections: dict[str, str]) -> str:
    """text with the measured data sets' sections ({name: markdown}) in place of theirs, the other data sets' kept as
    they are (appended, with the markers, if there are none)."""
    merged = {**sections_of(text), **sections}
    body = f"{BEGIN}\n\n" + "\n".join(merged.values()) + f"\n{END}"
    if BEGIN in text and END in text:
        return text[:text.index(BEGIN)] + body + text[text.index(END) + len(END):]
    return text.rstrip("\n") + "\n\n" + body + "\n"
