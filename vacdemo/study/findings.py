"""Measurements → one row per (model, ε), and a verdict on each of the paper's claims.

Every rule a verdict follows is stated in its text, so a reader can disagree with the rule, not the numbers.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from ..detector import Detector, detection_metrics
from ..paper import BEST_CAPACITY

MARGIN = 0.05  # a difference in accuracy smaller than this is "no change" (±1.6 points is 1 s.e. at n = 1000)
NOT_ROBUST = 0.2  # "not robust": at the largest ε, robust accuracy below this share of clean accuracy
DETECTS = 0.8  # "detects": detection accuracy at the largest ε at least this (the paper's tables: 0.80–0.99)
MAJORITY = 0.5  # "the decoder draws the adversarial class": more than this share of successful attacks
MONOTONE = 0.8  # |Spearman ρ| of 4 points ≥ 0.8: at most one pair out of order, a consistent trend


def load_measurements(work: Path) -> list[tuple[dict, dict[str, torch.Tensor]]]:
    """(meta, tensors) for every measured model under work, capacity sweep order."""
    found = [(json.loads(p.read_text()), load_file(str(p.with_suffix(".safetensors"))))
             for p in sorted(Path(work).glob("*/measure.json"))]
    return sorted(found, key=lambda m: (m[0]["run"]["dataset"], m[0]["run"]["l1"], m[0]["run"]["capacity"]))


def rows_for(meta: dict, t: dict[str, torch.Tensor]) -> list[dict]:
    """Per ε: robust accuracy, RE, detection (the §6.1 detector), and how the judge reads the reconstructions
    of successful attacks (clean right, adversarial wrong)."""
    run, y = meta["run"], t["y"]
    det = Detector(meta["detector"]["coef"], meta["detector"]["intercept"])
    clean_right = t["pred_clean"] == y
    rows = []
    for i, eps in enumerate(meta["eps"]):
        pred = t["pred_adv"][i]
        hit = clean_right & (pred != y)
        n_hit = int(hit.sum())
        judged = t["judge_adv"][i][hit]
        rows.append({
            "dataset": run["dataset"], "capacity": run["capacity"], "l1": run["l1"], "eps": eps,
            "n": len(y), "clean_accuracy": clean_right.float().mean().item(),
            "robust_accuracy": (pred == y).float().mean().item(),
            "re_clean": t["re_clean"].mean().item(), "re_adv": t["re_adv"][i].mean().item(),
            **{f"detection_{k}": v for k, v in detection_metrics(det, t["re_clean"], t["re_adv"][i]).items()},
            "successful_attacks": n_hit,
            "recon_as_adversarial": (judged == pred[hit]).float().mean().item() if n_hit else float("nan"),
            "recon_as_true": (judged == y[hit]).float().mean().item() if n_hit else float("nan"),
            # the control, on the same images as the shares: those the model gets right when clean
            "judge_on_clean_recon": (t["judge_clean"][clean_right] == y[clean_right]).float().mean().item(),
        })
    return rows


def select(rows: list[dict], **where) -> list[dict]:
    return [r for r in rows if all(math.isclose(r[k], v, rel_tol=1e-9, abs_tol=1e-12) if isinstance(v, float)
                                   else r[k] == v for k, v in where.items())]


def mean_over_attacks(rows: list[dict], key: str) -> float:
    """The mean of key over the ε > 0 rows: one number per model for 'how robust' or 'how detectable'."""
    return float(np.mean([r[key] for r in rows if r["eps"] > 0]))


def by_model(rows: list[dict], key: str, vary: str) -> dict[float, float]:
    """{value of vary: mean of key over ε > 0}, in increasing order of vary."""
    return {v: mean_over_attacks(select(rows, **{vary: v}), key) for v in sorted({r[vary] for r in rows})}


def spearman(values: list[float]) -> float:
    """Rank correlation of values with their order (ties broken by position)."""
    ranks = np.argsort(np.argsort(values))
    return float(np.corrcoef(np.arange(len(values)), ranks)[0, 1])


def verdict(ok: bool | None) -> str:
    return {True: "confirmed", False: "not confirmed", None: "not measured"}[ok]


def fmt(d: dict[float, float], name: str) -> str:
    return ", ".join(f"{name} = {k:g}: {v:.3f}" for k, v in d.items())


def capacity_vs_robustness(sweep: list[dict]) -> dict:
    clean = {c: select(sweep, capacity=c)[0]["clean_accuracy"] for c in sorted({r["capacity"] for r in sweep})}
    relative = {c: v / max(clean[c], 1e-9) for c, v in by_model(sweep, "robust_accuracy", "capacity").items()}
    ok, rho = None, float("nan")
    if len(relative) >= 3:
        rho = round(spearman(list(relative.values())), 6)  # 0.8 is exactly one swap of 4: no float noise
        ok = max(relative.values()) - min(relative.values()) < MARGIN or abs(rho) < MONOTONE
    return {"claim": "Capacity does not control robustness (§6.2, Figs. 3b and 4b)", "verdict": verdict(ok),
            "text": f"Robust accuracy over ε > 0, as a share of clean accuracy: {fmt(relative, 'C')} (clean: "
                    f"{fmt(clean, 'C')}); rank correlation with C: ρ = {rho:.2f}. Rule: confirmed when these differ "
                    f"by less than {MARGIN} or show no consistent trend in C (|ρ| < {MONOTONE})."}


def capacity_vs_detection(sweep: list[dict]) -> dict:
    det = by_model(sweep, "detection_accuracy", "capacity")
    re = {c: select(sweep, capacity=c)[0]["re_clean"] for c in det}
    low = min(det, default=None)
    ok = None if len(det) < 2 else det[low] < max(det.values()) - MARGIN and re[low] == max(re.values())
    return {"claim": "Capacity matters for detection: too low a capacity leaves the clean reconstruction error high "
                     "and detection poor (§6.2, Figs. 3c and 4c)", "verdict": verdict(ok),
            "text": f"Detection accuracy over ε > 0: {fmt(det, 'C')}; mean clean RE: {fmt(re, 'C')}. Rule: "
                    f"confirmed when the lowest capacity has the highest clean RE and detects at least {MARGIN} worse "
                    "than the best capacity."}


def l1_vs_robustness(l1_rows: list[dict], best: float) -> dict:
    robust = by_model(l1_rows, "robust_accuracy", "l1")
    ok = None if 0.0 not in robust or len(robust) < 2 else \
        all(v < robust[0.0] + MARGIN for k, v in robust.items() if k > 0)
    return {"claim": "ℓ1 regularisation of the classifier does not improve robustness (§6.3, Tables 1–2)",
            "verdict": verdict(ok),
            "text": f"At C = {best:g}, robust accuracy over ε > 0: {fmt(robust, 'λ')}. Rule: confirmed when no "
                    f"λ > 0 beats λ = 0 by {MARGIN} or more."}


def l1_vs_detection(l1_rows: list[dict], best: float) -> dict:
    det = by_model(l1_rows, "detection_accuracy", "l1")
    with_l1 = [v for k, v in det.items() if k > 0]
    ok = None if 0.0 not in det or not with_l1 else all(v < det[0.0] for v in with_l1)
    drop = det[0.0] - float(np.mean(with_l1)) if ok is not None else float("nan")
    return {"claim": "ℓ1 regularisation lowers detection (§6.3, Tables 3–4)", "verdict": verdict(ok),
            "text": f"At C = {best:g}, detection accuracy over ε > 0: {fmt(det, 'λ')}; the mean drop from λ = 0 is "
                    f"{drop:.3f}. Rule: confirmed when every λ > 0 detects worse than λ = 0."}


def decoder_follows_classifier(curve: list[dict], best: float, fig_eps: float) -> dict:
    claim = "The decoder reconstructs the class the classifier wrongly chose (§6.4, Fig. 5)"
    curve = [r for r in curve if r["successful_attacks"]]
    at = [r for r in curve if math.isclose(r["eps"], fig_eps)]
    if not at:
        return {"claim": claim, "verdict": verdict(None), "text": "No successful attack at this ε, or no model."}
    r, last = at[0], curve[-1]
    above = [c["eps"] for c in curve if c["recon_as_adversarial"] > MAJORITY]
    if r["recon_as_adversarial"] > MAJORITY:
        said = verdict(True)
    elif above and min(above) > fig_eps:
        said = "confirmed at larger ε only"
    else:
        said = "mixed" if above else verdict(False)
    return {"claim": claim, "verdict": said,
            "text": f"At C = {best:g}, ε = {fig_eps:g} (the tables' middle column): of {r['successful_attacks']} "
                    f"successful attacks, the judge CNN reads the reconstruction as the adversarial class in "
                    f"{r['recon_as_adversarial']:.1%} and as the true class in {r['recon_as_true']:.1%}; at ε = "
                    f"{last['eps']:g}, in {last['recon_as_adversarial']:.1%} and {last['recon_as_true']:.1%}. "
                    f"{'Above half at ε = ' + ', '.join(format(e, 'g') for e in above) if above else 'Never above half'}. "
                    f"As a control, on the same images the judge reads the clean reconstructions as their true class "
                    f"in {r['judge_on_clean_recon']:.1%}. Rule: confirmed when more than half of the reconstructions "
                    "read as the adversarial class at the middle ε; 'confirmed at larger ε only' when that happens "
                    "only further out, 'mixed' when it happens at some ε but not in order."}


def not_robust(curve: list[dict], best: float) -> dict:
    worst = max(curve, key=lambda r: r["eps"])
    ok = worst["robust_accuracy"] < NOT_ROBUST * worst["clean_accuracy"]
    return {"claim": "The β-VAC is not robust to PGD (§7)", "verdict": verdict(ok),
            "text": f"At C = {best:g}, λ = 0: robust accuracy {worst['robust_accuracy']:.3f} at ε = {worst['eps']:g} "
                    f"(clean {worst['clean_accuracy']:.3f}). Rule: confirmed when it is below {NOT_ROBUST:.0%} of the "
                    "clean accuracy."}


def detects(curve: list[dict], best: float) -> dict:
    worst = max(curve, key=lambda r: r["eps"])
    ok = worst["detection_accuracy"] >= DETECTS
    return {"claim": "Its reconstruction error detects the attacks (§6.1, §7)", "verdict": verdict(ok),
            "text": f"At C = {best:g}, λ = 0: detection accuracy {worst['detection_accuracy']:.3f} at ε = "
                    f"{worst['eps']:g} ({mean_over_attacks(curve, 'detection_accuracy'):.3f} averaged over ε > 0). "
                    f"Rule: confirmed when it is at least {DETECTS} at the largest ε."}


def claims(rows: list[dict], dataset: str, fig_eps: float) -> list[dict]:
    """The paper's claims for one data set, each {claim, verdict, text}."""
    best = BEST_CAPACITY[dataset]
    sweep = select(rows, dataset=dataset, l1=0.0)
    l1_rows = select(rows, dataset=dataset, capacity=best)
    curve = select(sweep, capacity=best)
    found = [capacity_vs_robustness(sweep), capacity_vs_detection(sweep), l1_vs_robustness(l1_rows, best),
             l1_vs_detection(l1_rows, best), decoder_follows_classifier(curve, best, fig_eps)]
    return found + ([not_robust(curve, best), detects(curve, best)] if curve else [])
