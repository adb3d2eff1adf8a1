"""Measurements → one row per (model, ε), and a verdict on each of the paper's claims.

Every rule a verdict follows is stated in its text, so a reader can disagree with the rule, not the numbers.
"""
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from .detector import Detector, detection_metrics
from .paper import BEST_CAPACITY

MARGIN = 0.05  # a difference in accuracy smaller than this is "no change" (±1.6 points is 1 s.e. at n = 1000)


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
            "judge_on_clean_recon": (t["judge_clean"] == y).float().mean().item(),
        })
    return rows


def select(rows: list[dict], **where) -> list[dict]:
    return [r for r in rows if all(np.isclose(r[k], v) if isinstance(v, float) else r[k] == v
                                   for k, v in where.items())]


def mean_over_attacks(rows: list[dict], key: str) -> float:
    """The mean of key over the ε > 0 rows: one number per model for 'how robust' or 'how detectable'."""
    return float(np.mean([r[key] for r in rows if r["eps"] > 0]))


def by_model(rows: list[dict], key: str, vary: str, **where) -> dict[float, float]:
    values = sorted({r[vary] for r in select(rows, **where)})
    return {v: mean_over_attacks(select(rows, **{vary: v}, **where), key) for v in values}


def verdict(ok: bool | None) -> str:
    return {True: "confirmed", False: "not confirmed", None: "not measured"}[ok]


def fmt(d: dict[float, float], name: str) -> str:
    return ", ".join(f"{name} = {k:g}: {v:.3f}" for k, v in d.items())


def claims(rows: list[dict], dataset: str, fig_eps: float) -> list[dict]:
    """The paper's claims for one data set: {claim, verdict, text}."""
    best = BEST_CAPACITY[dataset]
    sweep = select(rows, dataset=dataset, l1=0.0)
    out = []
    robust_c = by_model(sweep, "robust_accuracy", "capacity", dataset=dataset, l1=0.0)
    clean_c = {c: select(sweep, capacity=c)[0]["clean_accuracy"] for c in robust_c}
    ok = None if len(robust_c) < 2 else max(robust_c.values()) - min(robust_c.values()) < MARGIN or \
        not (np.all(np.diff(list(robust_c.values())) > 0) or np.all(np.diff(list(robust_c.values())) < 0))
    out.append({"claim": "Capacity does not control robustness (§6.2, Figs. 3b and 4b)", "verdict": verdict(ok),
                "text": f"Robust accuracy averaged over the ε > 0 of the grid: {fmt(robust_c, 'C')} (clean: "
                        f"{fmt(clean_c, 'C')}). Rule: confirmed when these differ by less than {MARGIN} or do not "
                        "move monotonically with C."})
    det_c = by_model(sweep, "detection_accuracy", "capacity", dataset=dataset, l1=0.0)
    re_c = {c: select(sweep, capacity=c)[0]["re_clean"] for c in det_c}
    low = min(det_c, default=None)
    ok = None if len(det_c) < 2 else det_c[low] < max(det_c.values()) - MARGIN and re_c[low] == max(re_c.values())
    out.append({"claim": "Capacity matters for detection: too low a capacity leaves the clean reconstruction error "
                         "high and detection poor (§6.2, Figs. 3c and 4c)", "verdict": verdict(ok),
                "text": f"Detection accuracy averaged over ε > 0: {fmt(det_c, 'C')}; mean clean RE: "
                        f"{fmt(re_c, 'C')}. Rule: confirmed when the lowest capacity has the highest clean RE and "
                        f"detects at least {MARGIN} worse than the best capacity."})
    l1_rows = select(rows, dataset=dataset, capacity=best)
    robust_l = by_model(l1_rows, "robust_accuracy", "l1", dataset=dataset, capacity=best)
    ok = None if 0.0 not in robust_l or len(robust_l) < 2 else \
        all(v < robust_l[0.0] + MARGIN for k, v in robust_l.items() if k > 0)
    out.append({"claim": "ℓ1 regularisation of the classifier does not improve robustness (§6.3, Tables 1–2)",
                "verdict": verdict(ok),
                "text": f"At C = {best:g}, robust accuracy averaged over ε > 0: {fmt(robust_l, 'λ')}. Rule: "
                        f"confirmed when no λ > 0 beats λ = 0 by {MARGIN} or more."})
    det_l = by_model(l1_rows, "detection_accuracy", "l1", dataset=dataset, capacity=best)
    strongest = max(det_l, default=0.0)
    ok = None if 0.0 not in det_l or strongest == 0.0 else det_l[strongest] < det_l[0.0] - 0.01
    out.append({"claim": "ℓ1 regularisation lowers detection (§6.3, Tables 3–4)", "verdict": verdict(ok),
                "text": f"At C = {best:g}, detection accuracy averaged over ε > 0: {fmt(det_l, 'λ')}. Rule: "
                        "confirmed when the strongest λ detects at least 0.01 worse than λ = 0."})
    curve = [r for r in select(rows, dataset=dataset, capacity=best, l1=0.0) if r["successful_attacks"]]
    at = [r for r in curve if np.isclose(r["eps"], fig_eps)]
    if at:
        r, last = at[0], curve[-1]
        above = [c["eps"] for c in curve if c["recon_as_adversarial"] > 0.5]
        ok = r["recon_as_adversarial"] > 0.5
        text = (f"At C = {best:g}, ε = {fig_eps:g} (the tables' middle column): of {r['successful_attacks']} successful "
                f"attacks, the judge CNN reads the reconstruction as the adversarial class in "
                f"{r['recon_as_adversarial']:.1%} and as the true class in {r['recon_as_true']:.1%}; at ε = "
                f"{last['eps']:g}, in {last['recon_as_adversarial']:.1%} and {last['recon_as_true']:.1%}. "
                f"{'Above half at ε = ' + ', '.join(format(e, 'g') for e in above) if above else 'Never above half'}. As a "
                f"control, the judge reads clean reconstructions as their true class in {r['judge_on_clean_recon']:.1%}. "
                "Rule: confirmed when more than half of the reconstructions read as the adversarial class at the "
                "middle ε; 'confirmed at larger ε only' when that happens only further out.")
        verdict_text = verdict(ok) if ok or not above else "confirmed at larger ε only"
    else:
        verdict_text, text = verdict(None), "No successful attack at this ε, or the model was not measured."
    out.append({"claim": "The decoder reconstructs the class the classifier wrongly chose (§6.4, Fig. 5)",
                "verdict": verdict_text, "text": text})
    top = select(rows, dataset=dataset, capacity=best, l1=0.0)
    if top:
        worst = max(top, key=lambda r: r["eps"])
        ok = worst["robust_accuracy"] < 0.1
        det = mean_over_attacks(top, "detection_accuracy")
        out.append({"claim": "The β-VAC is not robust to PGD, yet its reconstruction error detects the attacks (§7)",
                    "verdict": verdict(ok and det > 0.8),
                    "text": f"At C = {best:g}: robust accuracy {worst['robust_accuracy']:.3f} at ε = {worst['eps']:g}; "
                            f"detection accuracy {det:.3f} averaged over ε > 0. Rule: confirmed when robust accuracy "
                            "at the largest ε is below 0.1 and mean detection accuracy above 0.8."})
    return out
