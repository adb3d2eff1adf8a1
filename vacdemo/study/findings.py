"""Measurements → rows per (model, ε), their means over seeds, and a verdict on each of the paper's claims.

Every verdict reads the whole ε range and weighs each difference against a margin made of the seed-to-seed
spread and the test sample's (vacdemo.study.spread); its text states the rule, the margins and the spread.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from ..models.detector import Detector, detection_metrics
from ..errors import SettingsError
from ..paper import BEST_CAPACITY, L1, ROBUST, TABLE_EPS
from .spread import (BOOT_SES, CONSISTENT, FLOOR, SEED_SDS, Effect, Stat, effect, margin, margin_one,
                     resample_weights)

NOT_ROBUST = 0.2  # "not robust" at an ε: robust accuracy (plus its margin) below this share of clean accuracy
DETECTS = 0.8  # "detects" at an ε: detection over clean and successful attacks (minus its margin) at least this
MIN_HITS = 20  # "detects" at an ε needs at least this many successful attacks per seed to read a TPR
MAJORITY = 0.5  # "the decoder draws the adversarial class": more than this share of successful attacks
AVERAGED = ("clean_accuracy", "robust_accuracy", "re_clean", "re_adv", "detection_accuracy", "detection_auc",
            "detection_tnr", "detection_accuracy_successful", "successful_attacks", "recon_as_adversarial",
            "recon_as_true", "judge_on_clean_recon")
RULE = (f"An effect counts where it exceeds its margin: max({SEED_SDS:g} × the seed-to-seed s.d., {BOOT_SES:g} × the "
        f"bootstrap s.e. over test images, {FLOOR}); read over the ε range, it must do so at more than "
        f"{CONSISTENT:.0%} of the informative ε > 0 columns (a column where both settings sit within {FLOOR} of 0 or "
        f"of 1 cannot show an effect and is left out).")


def load_measurements(work: Path) -> list[tuple[dict, dict[str, torch.Tensor]]]:
    """(meta, tensors) for every measured model under work, sorted by setting then seed; meta gains
    "history" (metrics.json), "second" (+ tensors "second/…") and "weights" where the folder has them."""
    found = []
    for p in sorted(Path(work).glob("*/measure.json")):
        meta, t = json.loads(p.read_text()), load_file(str(p.with_suffix(".safetensors")))
        meta["run"].setdefault("seed", 0)
        for name, key in (("metrics.json", "history"), ("weights.json", "weights"), ("second.json", "second")):
            if (p.parent / name).exists():
                meta[key] = json.loads((p.parent / name).read_text())
        if "second" in meta:
            t |= {f"second/{k}": v for k, v in load_file(str(p.parent / "second.safetensors")).items()}
        found.append((meta, t))
    return sorted(found, key=lambda m: tuple(m[0]["run"][k] for k in ("dataset", "l1", "capacity", "seed")))


def flags(meta: dict, re: torch.Tensor) -> torch.Tensor:
    det = Detector(meta["detector"]["coef"], meta["detector"]["intercept"])
    return det.prob(re.double()) >= 0.5


def rows_for(meta: dict, t: dict[str, torch.Tensor]) -> list[dict]:
    """Per ε, for one model: robust accuracy, RE, detection (the §6.1 detector; over every attack, and over
    clean + successful attacks only), and how the judge reads the reconstructions of successful attacks."""
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
            "dataset": run["dataset"], "capacity": run["capacity"], "l1": run["l1"], "seed": run.get("seed", 0),
            "eps": eps, "n": len(y), "clean_accuracy": clean_right.float().mean().item(),
            "robust_accuracy": (pred == y).float().mean().item(),
            "re_clean": t["re_clean"].mean().item(), "re_adv": t["re_adv"][i].mean().item(),
            **{f"detection_{k}": v for k, v in detection_metrics(det, t["re_clean"], t["re_adv"][i], hit).items()},
            "successful_attacks": n_hit,
            "recon_as_adversarial": (judged == pred[hit]).float().mean().item() if n_hit else float("nan"),
            "recon_as_true": (judged == y[hit]).float().mean().item() if n_hit else float("nan"),
            # the control, on the same images as the shares: those the model gets right when clean
            "judge_on_clean_recon": (t["judge_clean"][clean_right] == y[clean_right]).float().mean().item(),
        })
    return rows


def average(rows: list[dict]) -> list[dict]:
    """One row per (dataset, capacity, λ, ε): the mean over seeds of each measure, its s.d. as key_sd (nan
    with one seed) and the number of seeds."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], r["capacity"], r["l1"], round(r["eps"], 6)), []).append(r)
    out = []
    for rs in groups.values():
        row = {k: rs[0][k] for k in ("dataset", "capacity", "l1", "eps", "n")} | {"seeds": len(rs)}
        for k in AVERAGED:
            v = np.array([r[k] for r in rs], dtype=float)
            row[k] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
            row[f"{k}_sd"] = float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else float("nan")
        out.append(row)
    return out


def select(rows: list[dict], **where) -> list[dict]:
    return [r for r in rows if all(math.isclose(r[k], v, rel_tol=1e-9, abs_tol=1e-12) if isinstance(v, float)
                                   else r[k] == v for k, v in where.items())]


class Study:
    """Per-image scores of every model, grouped by setting (dataset, capacity, λ) over seeds."""

    def __init__(self, measurements: list[tuple[dict, dict]]):
        for d in {m["run"]["dataset"] for m, _ in measurements}:  # paired comparisons need the same images
            drawn = {(m.get("subset", "the first N"), len(t["y"])) for m, t in measurements if m["run"]["dataset"] == d}
            if len(drawn) > 1:
                raise SettingsError(f"the {d} models were measured on different test images ({sorted(drawn)}): "
                                    "measure them again with the same --n-test (reproduce without --report-only)")
        self.models = measurements
        self.rows = [r for meta, t in measurements for r in rows_for(meta, t)]
        self.mean_rows = average(self.rows)
        self._w: dict[int, np.ndarray] = {}

    def weights(self, n: int) -> np.ndarray:
        if n not in self._w:
            self._w[n] = resample_weights(n)
        return self._w[n]

    def setting(self, dataset: str, capacity: float, l1: float) -> list[tuple[dict, dict]]:
        return [(m, t) for m, t in self.models if m["run"]["dataset"] == dataset and
                math.isclose(m["run"]["capacity"], capacity) and math.isclose(m["run"]["l1"], l1, abs_tol=1e-15)]

    def values(self, dataset: str, key: str, **where) -> list[float]:
        return sorted({m["run"][key] for m, _ in self.models if m["run"]["dataset"] == dataset and
                       all(math.isclose(m["run"][k], v, abs_tol=1e-15) for k, v in where.items())})

    def eps(self, dataset: str) -> list[float]:
        return next(m["eps"] for m, _ in self.models if m["run"]["dataset"] == dataset)

    def stat(self, dataset: str, capacity: float, l1: float, key: str, i: int) -> Stat:
        """key at the i-th ε of one setting, over its seeds: robust, detection (every attack), detection_successful,
        recon_as_adversarial, re_clean, clean."""
        nums, dens = [], []
        for meta, t in self.setting(dataset, capacity, l1):
            num, den = scores(meta, t, key, i)
            nums.append(num)
            dens.append(den)
        return Stat(np.stack(nums), np.stack(dens))

    def over_eps(self, dataset: str, capacity: float, l1: float, key: str) -> list[Stat]:
        """key at every ε > 0."""
        return [self.stat(dataset, capacity, l1, key, i) for i, e in enumerate(self.eps(dataset)) if e > 0]

    def compare(self, dataset: str, a: tuple[float, float], b: tuple[float, float], key: str) -> Effect:
        """(capacity, λ) a − b for key over the ε > 0 columns."""
        eps = [e for e in self.eps(dataset) if e > 0]
        first = self.setting(dataset, *a)[0][1]
        return effect(self.over_eps(dataset, *a, key), self.over_eps(dataset, *b, key), eps,
                      self.weights(len(first["y"])))

    def margin_one(self, stat: Stat) -> float:
        return margin_one(stat, self.weights(stat.num.shape[1]))

    def spread(self, dataset: str, key: str, **where) -> str:
        """The seed-to-seed s.d. of key (over ε > 0, the models of where), as a phrase."""
        sds = [s.sd for m, _ in self.models if m["run"]["dataset"] == dataset and m["run"]["seed"] == 0
               and all(math.isclose(m["run"][k], v, abs_tol=1e-15) for k, v in where.items())
               for s in self.over_eps(dataset, m["run"]["capacity"], m["run"]["l1"], key)]
        sds = [s for s in sds if np.isfinite(s)]
        if not sds:
            return "one seed per model: the seed-to-seed spread is not measured, the margins are the test sample's"
        return f"seed-to-seed s.d. of {key.replace('_', ' ')}: median {np.median(sds):.3f}, largest {max(sds):.3f}"


def scores(meta: dict, t: dict, key: str, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-image (numerator, denominator) of key at the i-th ε of one model: the value is Σ num / Σ den."""
    y, ones = t["y"], torch.ones(len(t["y"]))
    clean_right = t["pred_clean"] == y
    hit = clean_right & (t["pred_adv"][i] != y)
    if key == "robust":
        num, den = (t["pred_adv"][i] == y).float(), ones
    elif key == "clean":
        num, den = clean_right.float(), ones
    elif key == "re_clean":
        num, den = t["re_clean"].float(), ones
    elif key == "detection":  # every attacked image counted as adversarial: (passed + flagged) / 2n
        num, den = (~flags(meta, t["re_clean"])).float() + flags(meta, t["re_adv"][i]).float(), 2 * ones
    elif key == "detection_successful":  # clean images + successful attacks only
        num = (~flags(meta, t["re_clean"])).float() + (flags(meta, t["re_adv"][i]) & hit).float()
        den = 1 + hit.float()
    elif key == "caught":  # the TPR over the successful attacks
        num, den = (flags(meta, t["re_adv"][i]) & hit).float(), hit.float()
    elif key == "tnr":
        num, den = (~flags(meta, t["re_clean"])).float(), ones
    elif key == "recon_as_adversarial":
        num, den = (hit & (t["judge_adv"][i] == t["pred_adv"][i])).float(), hit.float()
    else:
        raise KeyError(key)
    return num.numpy(), den.numpy()


def verdict(ok: bool | None) -> str:
    return {True: "confirmed", False: "not confirmed", None: "not measured"}[ok]


POWER = {"robust": 0.1, "detection": 0.05}  # a null result reads "confirmed" only if it could see effects this small


def power(effects: list[Effect], key: str) -> tuple[float | None, str]:
    """The smallest effect a null result could have detected (the largest margin over the informative columns of
    every comparison), and the sentence that states it with the bound a verdict needs."""
    found = [d for e in effects if (d := e.detectable()) is not None]
    if not found:
        return None, "No informative column: these measurements could not have seen an effect of any size."
    bound = max(found)
    return bound, (f"Smallest effect these measurements could detect: {bound:.3f} (the largest margin over the "
                   f"informative columns); a null result reads 'confirmed' only when that is at most {POWER[key]:g}.")


def null_verdict(ok: bool, effects: list[Effect], key: str, negative: str = "confirmed") -> tuple[str, str]:
    """A verdict that rests on finding no effect: the word (`negative` when no effect was found, here 'confirmed'
    or 'not confirmed'), 'inconclusive (could detect ≥ x)' when the experiment could not have seen an effect of
    the size that matters, and the sentence on its power."""
    bound, words = power(effects, key)
    if not ok:
        return verdict(False) if negative == "confirmed" else verdict(True), ""
    if bound is None or bound > POWER[key]:
        return f"inconclusive (could detect ≥ {bound:.2f})" if bound is not None else "inconclusive", words
    return negative, words


def fmt(d: dict[float, float], name: str) -> str:
    return ", ".join(f"{name} = {k:g}: {v:.3f}" for k, v in d.items())


def mean_over_eps(stats: list[Stat]) -> float:
    return float(np.mean([s.mean for s in stats]))


def capacity_vs_robustness(study: Study, dataset: str) -> dict:
    claim = "Capacity does not control robustness (§6.2, Figs. 3b and 4b)"
    caps = study.values(dataset, "capacity", l1=0.0)
    if len(caps) < 2:
        return {"claim": claim, "verdict": verdict(None), "text": "Fewer than two capacities measured."}
    if not any(e > 0 for e in study.eps(dataset)):
        return {"claim": claim, "verdict": verdict(None), "text": "No ε > 0 measured."}
    robust = {c: mean_over_eps(study.over_eps(dataset, c, 0.0, "robust")) for c in caps}
    hi, lo = max(robust, key=robust.get), min(robust, key=robust.get)
    e = study.compare(dataset, (hi, 0.0), (lo, 0.0), "robust")
    word, powered = null_verdict(not e.consistent(+1), [e], "robust")
    return {"claim": claim, "verdict": word,
            "text": f"Robust accuracy averaged over ε > 0: {fmt(robust, 'C')}. The most robust capacity minus the least "
                    f"(C = {hi:g} − C = {lo:g}), per ε: {e.describe()}. Rule: confirmed unless that difference exceeds "
                    f"its margin at more than {CONSISTENT:.0%} of the informative ε > 0 columns. {powered} "
                    f"{study.spread(dataset, 'robust', l1=0.0)}."}


def capacity_vs_detection(study: Study, dataset: str) -> dict:
    claim = ("Capacity matters for detection: too low a capacity leaves the clean reconstruction error high and "
             "detection poor (§6.2, Figs. 3c and 4c)")
    caps = study.values(dataset, "capacity", l1=0.0)
    if len(caps) < 2:
        return {"claim": claim, "verdict": verdict(None), "text": "Fewer than two capacities measured."}
    low, others = caps[0], caps[1:]
    det = {c: mean_over_eps(study.over_eps(dataset, c, 0.0, "detection")) for c in caps}
    best = max(others, key=det.get)
    re = {c: study.stat(dataset, c, 0.0, "re_clean", 0) for c in caps}
    rival = max(others, key=lambda c: re[c].mean)
    re_gap, re_margin = re[low].mean - re[rival].mean, margin(re[low], re[rival], study.weights(re[low].num.shape[1]))
    e = study.compare(dataset, (best, 0.0), (low, 0.0), "detection")
    ok = re_gap > re_margin and e.consistent(+1)
    return {"claim": claim, "verdict": verdict(ok),
            "text": f"Detection accuracy averaged over ε > 0: {fmt(det, 'C')}; mean clean RE: "
                    f"{fmt({c: s.mean for c, s in re.items()}, 'C')}. Clean RE of C = {low:g} minus the next highest "
                    f"(C = {rival:g}): {re_gap:+.3f} (margin {re_margin:.3f}). Best detecting C = {best:g} minus C = {low:g}, "
                    f"per ε: {e.describe()}. Rule: confirmed when the lowest capacity's clean RE is the highest by more "
                    f"than its margin and it detects worse than the best capacity beyond the margin at more than "
                    f"{CONSISTENT:.0%} of the informative ε > 0 columns. {study.spread(dataset, 'detection', l1=0.0)}."}


def l1_effects(study: Study, dataset: str, best: float, key: str) -> dict[float, Effect] | None:
    """key of each of the paper's λ minus λ = 0 at C = best over the ε > 0 columns (None: not measured). The
    λ beyond the paper's (--extra-l1) are in the tables, not in these verdicts: the claims are about its λ."""
    lams = [lam for lam in study.values(dataset, "l1", capacity=best) if any(math.isclose(lam, p) for p in L1[dataset])]
    if not lams or not study.setting(dataset, best, 0.0):
        return None
    return {lam: study.compare(dataset, (best, lam), (best, 0.0), key) for lam in lams}


def describe_l1(effects: dict[float, Effect]) -> str:
    return "; ".join(f"λ = {lam:g}: {e.describe()}" for lam, e in effects.items())


def l1_vs_robustness(study: Study, dataset: str, best: float) -> dict:
    claim = "ℓ1 regularisation of the classifier does not improve robustness (§6.3, Tables 1–2)"
    effects = l1_effects(study, dataset, best, "robust")
    if effects is None:
        return {"claim": claim, "verdict": verdict(None), "text": f"No λ of the paper's, or no λ = 0, at C = {best:g}."}
    better = [lam for lam, e in effects.items() if e.consistent(+1)]
    word, powered = null_verdict(not better, list(effects.values()), "robust")
    return {"claim": claim, "verdict": word,
            "text": f"At C = {best:g}, robust accuracy of λ minus λ = 0: {describe_l1(effects)}. Rule: confirmed unless "
                    f"some λ > 0 beats λ = 0 beyond the margin at more than {CONSISTENT:.0%} of the informative ε > 0 columns. "
                    f"{powered} {study.spread(dataset, 'robust', capacity=best)}."}


def l1_vs_detection(study: Study, dataset: str, best: float) -> dict:
    claim = "ℓ1 regularisation lowers detection (§6.3, Tables 3–4)"
    effects = l1_effects(study, dataset, best, "detection")
    if effects is None:
        return {"claim": claim, "verdict": verdict(None), "text": f"No λ of the paper's, or no λ = 0, at C = {best:g}."}
    lower = [lam for lam, e in effects.items() if e.consistent(-1)]
    if len(lower) == len(effects):
        word, powered = verdict(True), ""
    else:  # not confirmed: no drop found for some λ, a null result that needs its power
        word, powered = null_verdict(True, [e for lam, e in effects.items() if lam not in lower], "detection",
                                     negative="not confirmed")
    return {"claim": claim, "verdict": word,
            "text": f"At C = {best:g}, detection accuracy of λ minus λ = 0: {describe_l1(effects)}. Lower beyond the "
                    f"margin: {', '.join(f'{v:g}' for v in lower) or 'no λ'}. Rule: confirmed when every λ > 0 detects "
                    f"worse than λ = 0 beyond the margin at more than {CONSISTENT:.0%} of the informative ε > 0 columns. "
                    f"{powered} {study.spread(dataset, 'detection', capacity=best)}."}


def from_where(eps: list[float], ok: list[bool]) -> str:
    """'confirmed' at every ε, 'confirmed from ε = x on' when from some ε onwards, 'mixed', or 'not confirmed'."""
    if not ok:
        return verdict(None)
    if all(ok):
        return verdict(True)
    if not any(ok):
        return verdict(False)
    first = ok.index(True)
    return f"confirmed from ε = {eps[first]:g} on" if all(ok[first:]) else "mixed"


def table_columns(study: Study, dataset: str) -> list[tuple[int, float]]:
    """(index in the measured grid, ε) of the paper's table columns with ε > 0."""
    grid = study.eps(dataset)
    return [(i, e) for i, e in enumerate(grid) if e > 0 and any(math.isclose(e, t) for t in TABLE_EPS[dataset])]


def not_robust(study: Study, dataset: str, best: float) -> dict:
    cols = table_columns(study, dataset)
    clean = study.stat(dataset, best, 0.0, "clean", 0).mean
    stats = [study.stat(dataset, best, 0.0, "robust", i) for i, _ in cols]
    ok = [s.mean + study.margin_one(s) < NOT_ROBUST * clean for s in stats]
    paper = [min(row[j] for row in ROBUST[dataset].values()) for j in range(1, len(TABLE_EPS[dataset]))]
    paper_hi = [max(row[j] for row in ROBUST[dataset].values()) for j in range(1, len(TABLE_EPS[dataset]))]
    cells = "; ".join(f"ε {e:g}: {s.mean:.3f} ± {study.margin_one(s):.3f} (paper {lo:.3f}–{hi:.3f})"
                      for (_, e), s, lo, hi in zip(cols, stats, paper, paper_hi))
    return {"claim": "The β-VAC is not robust to PGD (§7)", "verdict": from_where([e for _, e in cols], ok),
            "text": f"At C = {best:g}, λ = 0 (clean {clean:.3f}), PGD-40 robust accuracy ± margin at the tables' ε "
                    f"columns: {cells} (the paper's range is over its λ rows). Rule: confirmed at an ε where robust "
                    f"accuracy plus its margin is below {NOT_ROBUST:.0%} of the clean accuracy; read at every column. "
                    f"{study.spread(dataset, 'robust', capacity=best, l1=0.0)}."}


def detects(study: Study, dataset: str, best: float) -> dict:
    cols = table_columns(study, dataset)
    ok, cells = [], []
    for i, e in cols:
        tpr, tnr = (study.stat(dataset, best, 0.0, k, i) for k in ("caught", "tnr"))
        hits = int(tpr.den.sum(1).min())
        low = ((tpr.mean - study.margin_one(tpr)) + (tnr.mean - study.margin_one(tnr))) / 2
        ok.append(hits >= MIN_HITS and low >= DETECTS)
        cells.append(f"ε {e:g}: {(tpr.mean + tnr.mean) / 2:.3f}, at least {low:.3f} (TPR {tpr.mean:.3f}, TNR {tnr.mean:.3f}; "
                     f"{hits} successful attacks in the fewest seed; every attack counted: "
                     f"{study.stat(dataset, best, 0.0, 'detection', i).mean:.3f})")
    return {"claim": "Its reconstruction error detects the attacks (§6.1, §7)", "verdict": from_where([e for _, e in cols], ok),
            "text": f"At C = {best:g}, λ = 0, balanced detection accuracy (TPR over the successful attacks + TNR on "
                    f"clean images) / 2: {'; '.join(cells)}. Rule: confirmed at an ε where that accuracy, with each "
                    f"rate lowered by its margin, is at least {DETECTS}, over at least {MIN_HITS} successful attacks; "
                    f"read at every column. {study.spread(dataset, 'detection_successful', capacity=best, l1=0.0)}."}


def decoder_follows_classifier(study: Study, dataset: str, best: float, fig_eps: float) -> dict:
    claim = "The decoder reconstructs the class the classifier wrongly chose (§6.4, Fig. 5)"
    grid = study.eps(dataset)
    stats = {e: study.stat(dataset, best, 0.0, "recon_as_adversarial", i) for i, e in enumerate(grid) if e > 0}
    stats = {e: s for e, s in stats.items() if s.den.sum(1).min() > 0}  # some successful attack in every seed
    at = [e for e in stats if math.isclose(e, fig_eps)]
    if not at:
        return {"claim": claim, "verdict": verdict(None), "text": "No successful attack at this ε, or no model."}
    above = [e for e, s in stats.items() if s.mean - study.margin_one(s) > MAJORITY]
    s = stats[at[0]]
    if at[0] in above:
        said = verdict(True)
    elif above and min(above) > fig_eps:
        said = "confirmed at larger ε only"
    else:
        said = "mixed" if above else verdict(False)
    last = max(stats)
    return {"claim": claim, "verdict": said,
            "text": f"At C = {best:g}, ε = {fig_eps:g} (the tables' middle column) the judge CNN reads the "
                    f"reconstruction of a successful attack as the adversarial class in {s.mean:.1%} ± "
                    f"{study.margin_one(s):.1%}; at ε = {last:g}, in {stats[last].mean:.1%}. "
                    f"{'Beyond half, margin included, at ε = ' + ', '.join(format(e, 'g') for e in above) if above else 'Never beyond half, margin included'}. "
                    f"Rule: confirmed when that share minus its margin exceeds {MAJORITY:.0%} at the middle ε; "
                    "'confirmed at larger ε only' when that happens only further out, 'mixed' when not in order. "
                    f"{study.spread(dataset, 'recon_as_adversarial', capacity=best, l1=0.0)}."}


def claims(study: Study, dataset: str, fig_eps: float) -> list[dict]:
    """The paper's claims for one data set, each {claim, verdict, text}."""
    best = BEST_CAPACITY[dataset]
    found = [capacity_vs_robustness(study, dataset), capacity_vs_detection(study, dataset),
             l1_vs_robustness(study, dataset, best), l1_vs_detection(study, dataset, best)]
    if not study.setting(dataset, best, 0.0):
        return found
    return found + [decoder_follows_classifier(study, dataset, best, fig_eps), not_robust(study, dataset, best),
                    detects(study, dataset, best)]
