"""The first-column experiments' rows and verdicts (torch-free: it reads the committed result.json files).

A row per arm: robust accuracy at ε = 0.025 over seeds (mean, min–max), clean accuracy, the other columns, the
difference from the baseline with the smallest difference the seeds could have detected (a 95 % interval), and a
verdict by issue 31's rule: **explains** when the first column comes within 0.1 of the paper's range while clean
accuracy (±0.05) and the other columns (±0.1) stay where the baseline has them; **partly** when it moves toward
the paper beyond the detectable difference without that; **does not** otherwise.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import mean, stdev

from ..paper import ROBUST

PAPER_FIRST = (min(r[1] for r in ROBUST["fmnist"].values()), max(r[1] for r in ROBUST["fmnist"].values()))  # 0.081, 0.26
T95 = {1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}
FIRST = "0.025"


def collect(work: Path) -> dict[str, list[dict]]:
    """{arm: [result rows over seeds]} from every *result.json under work."""
    rows: dict[str, list[dict]] = {}
    for f in sorted(Path(work).glob("*/*result.json")):
        r = json.loads(f.read_text())
        rows.setdefault(r["arm"], []).append(r)
    return rows


def spread(values: list[float], n_test: int) -> float:
    """The standard deviation of one seed's reading: the seeds' own, at least the binomial noise of n_test images."""
    p = mean(values)
    binomial = math.sqrt(max(p * (1 - p), 1e-4) / n_test)
    return max(stdev(values) if len(values) > 1 else 0.0, binomial)


def detectable(a: list[float], b: list[float], n_test: int) -> float:
    """Half-width of a 95 % interval for mean(a) − mean(b): the smallest difference these seeds can tell from 0."""
    df = max(1, len(a) + len(b) - 2)
    se = math.sqrt(spread(a, n_test) ** 2 / len(a) + spread(b, n_test) ** 2 / len(b))
    return T95.get(df, 1.96) * se


def paired(arm: list[dict], base: list[dict]) -> list[tuple[float, float]] | None:
    """(arm, baseline) first columns per seed when the arm measured the baseline's own models (an attack-only arm:
    the same config and clean accuracy per seed), else None."""
    by_seed = {r["seed"]: r for r in base}
    pairs = [(a, by_seed.get(a["seed"])) for a in arm]
    if any(b is None or b["config"] != a["config"] or b["clean_test"] != a["clean_test"] for a, b in pairs):
        return None
    return [(a["robust"][FIRST], b["robust"][FIRST]) for a, b in pairs]


def detectable_paired(pairs: list[tuple[float, float]], n_test: int) -> float:
    """Half-width of a 95 % interval for the mean paired difference (the same models, the same images): the seeds'
    spread of the differences, at least the test sample's (McNemar's: at least |d|·n images read differently, so
    an s.d. of √(|d|/n) or more; one image's worth when d = 0); t over the seeds, z for one."""
    d = [a - b for a, b in pairs]
    sample = max(math.sqrt(abs(mean(d)) / n_test), 1 / n_test)
    sd = max(stdev(d) if len(d) > 1 else 0.0, sample)
    return (T95.get(len(d) - 1, 1.96) if len(d) > 1 else 1.96) * sd / math.sqrt(len(d))


def verdict(arm: list[dict], base: list[dict]) -> dict:
    """One arm against the baseline: its numbers and its verdict with the detectable difference (paired over seeds
    where the arm attacked the baseline's own models)."""
    n = arm[0]["n_test"]
    first, first0 = [r["robust"][FIRST] for r in arm], [r["robust"][FIRST] for r in base]
    clean, clean0 = mean(r["clean_test"] for r in arm), mean(r["clean_test"] for r in base)
    cols = sorted(arm[0]["robust"], key=float)[1:]
    moved = {c: mean(r["robust"][c] for r in arm) - mean(r["robust"][c] for r in base) for c in cols}
    pairs = paired(arm, base) if arm is not base else None
    diff = mean(first) - mean(first0)
    bound = detectable_paired(pairs, n) if pairs else detectable(first, first0, n)
    in_reach = PAPER_FIRST[0] - 0.1 <= mean(first) <= PAPER_FIRST[1] + 0.1
    kept = abs(clean - clean0) <= 0.05 and all(abs(v) <= 0.1 for v in moved.values())
    toward = diff < -bound  # lower than the baseline, beyond what the seeds could produce by chance
    word = "explains" if in_reach and kept else "partly" if toward or in_reach else "does not"
    return {"arm": arm[0]["arm"], "seeds": len(arm), "first": mean(first), "first_min": min(first),
            "first_max": max(first), "clean": clean, "others": {c: mean(r["robust"][c] for r in arm) for c in cols},
            "diff": diff, "detectable": bound, "verdict": word}


def table(work: Path, whats: dict[str, str]) -> str:
    """The markdown rows, the baseline first; empty when the baseline has no result yet."""
    rows = collect(work)
    if "baseline" not in rows:
        return ""
    out = ["| arm | what changed | robust @ 0.025 (seeds: mean, min–max) | clean | @ 0.05 / 0.075 / 0.1 | "
           "Δ first column vs baseline (± detectable) | verdict |", "|---|---|---|---|---|---|---|"]
    for name in sorted(rows, key=lambda k: (k != "baseline", k)):
        v = verdict(rows[name], rows["baseline"])
        seeds = "one seed" if v["seeds"] == 1 else f"{v['seeds']} seeds"
        delta = "—" if name == "baseline" else f"{v['diff']:+.3f} (± {v['detectable']:.3f})"
        word = "—" if name == "baseline" else f"**{v['verdict']}**"
        what = whats.get(name, "").replace("|", "\\|")  # a |KL − c| must not split the table's cell
        out.append(f"| {name} | {what} | {v['first']:.3f} ({seeds}: {v['first_min']:.3f}–"
                   f"{v['first_max']:.3f}) | {v['clean']:.3f} | "
                   + " / ".join(f"{x:.3f}" for x in v["others"].values()) + f" | {delta} | {word} |")
    return "\n".join(out)
