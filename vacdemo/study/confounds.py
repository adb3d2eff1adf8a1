"""Does capacity control robustness, or does clean accuracy? (issue 31, item 3)

Over C, Fashion-MNIST's robust accuracy at ε = 0.025 runs exactly inverse to its clean accuracy. The paper's own
claim is "no particular correlation between the capacity and the accuracy [under attack]" (§6.2). So, over every
λ = 0 model (capacities × seeds): Spearman's ρ between log C and robust accuracy per ε, and the same with clean
accuracy partialled out (the ranks of both regressed on the rank of clean accuracy, the residuals correlated: an
accuracy-matched comparison), each with a bootstrap 95 % interval over models. Read in the paper's words: "no
particular correlation" where the interval of the partial ρ holds 0.
"""
import numpy as np
from scipy.stats import rankdata

from .findings import Study

BOOT = 2000


def ranks(v: np.ndarray) -> np.ndarray:
    """Ranks with ties averaged (the seeds of one capacity share its log C)."""
    return rankdata(v, method="average")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def partial_spearman(a: np.ndarray, b: np.ndarray, control: np.ndarray) -> float:
    """ρ(a, b) with control's rank regressed out of both ranks."""
    ra, rb, rc = ranks(a), ranks(b), ranks(control)
    if rc.std() == 0:
        return spearman(a, b)
    design = np.c_[np.ones_like(rc), rc]
    res_a = ra - design @ np.linalg.lstsq(design, ra, rcond=None)[0]
    res_b = rb - design @ np.linalg.lstsq(design, rb, rcond=None)[0]
    if res_a.std() == 0 or res_b.std() == 0:
        return float("nan")
    return float(np.corrcoef(res_a, res_b)[0, 1])


def interval(fn, n: int, seed: int = 0) -> tuple[float, float]:
    """Bootstrap 95 % interval of fn(indices) over n models."""
    rng = np.random.default_rng(seed)
    vals = [fn(rng.integers(0, n, n)) for _ in range(BOOT)]
    vals = [v for v in vals if np.isfinite(v)]
    return (float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))) if vals else (float("nan"),) * 2


def capacity_rows(study: Study, dataset: str) -> list[dict]:
    """Per ε > 0: ρ(log C, robust) and its partial on clean accuracy, with intervals, over the λ = 0 models."""
    rows = [r for r in study.rows if r["dataset"] == dataset and r["l1"] == 0]
    out = []
    for eps in sorted({r["eps"] for r in rows if r["eps"] > 0}):
        at = [r for r in rows if np.isclose(r["eps"], eps)]
        c = np.log10([r["capacity"] for r in at])
        rob = np.array([r["robust_accuracy"] for r in at])
        clean = np.array([r["clean_accuracy"] for r in at])
        if len(set(c)) < 2:
            continue
        rho, part = spearman(c, rob), partial_spearman(c, rob, clean)
        out.append({"eps": eps, "models": len(at), "capacities": len(set(c)), "rho": rho,
                    "rho_ci": interval(lambda i: spearman(c[i], rob[i]), len(at)),
                    "rho_clean": spearman(clean, rob),
                    "partial": part, "partial_ci": interval(lambda i: partial_spearman(c[i], rob[i], clean[i]), len(at))})
    return out


def words(r: dict) -> str:
    lo, hi = r["partial_ci"]
    return "no particular correlation" if lo <= 0 <= hi else ("robustness rises with C" if lo > 0 else
                                                               "robustness falls with C")


def table(study: Study, dataset: str) -> str:
    rows = capacity_rows(study, dataset)
    if not rows:
        return ""
    out = ["| ε | models | ρ(log C, robust) [95 % CI] | ρ(clean, robust) | ρ(log C, robust ∣ clean) [95 % CI] | "
           "in the paper's words |", "|---:|---:|---|---:|---|---|"]
    for r in rows:
        out.append(f"| {r['eps']:g} | {r['models']} | {r['rho']:+.2f} [{r['rho_ci'][0]:+.2f}, {r['rho_ci'][1]:+.2f}] | "
                   f"{r['rho_clean']:+.2f} | {r['partial']:+.2f} [{r['partial_ci'][0]:+.2f}, {r['partial_ci'][1]:+.2f}] | "
                   f"{words(r)} |")
    return "\n".join(out)
