"""The reproduction report: one list of blocks, written as Markdown, as a self-contained HTML page (plotly)
and as CSV. Blocks: ("h", level, text), ("p", text), ("table", header, rows), ("plot", figure, caption),
("image", png bytes, file name, caption)."""
import base64
from collections import Counter
import csv
import html
import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..config import Config, flat
from ..datasets import CLASS_NAMES
from ..errors import SettingsError
from ..images import gray_png
from ..paper import BEST_CAPACITY, DETECTION, L1, ROBUST, TABLE_EPS
from .findings import RULE, Study, claims, load_measurements, select
from .sections import best_capacity_block, epoch_blocks, l1_weight_blocks, second_opinion_blocks, silent_blocks

COLOURS = ["#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#B07AA1", "#9C755F"]
PANELS = [("re_adv", "mean reconstruction error"), ("robust_accuracy", "robust accuracy"),
          ("detection_accuracy", "detection accuracy")]


def sweep_plot(rows: list[dict], vary: str, label: str, paper: dict | None = None) -> go.Figure:
    """Three panels over ε (as the paper's Figs. 3–4 a–c), one line per value of vary; the paper's table
    values dashed where given (paper: {value: (robust row, detection row, ε columns)})."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t for _, t in PANELS])
    for i, v in enumerate(sorted({r[vary] for r in rows})):
        mine = select(rows, **{vary: v})
        colour = COLOURS[i % len(COLOURS)]
        for col, (key, _) in enumerate(PANELS, 1):
            sd = [r.get(f"{key}_sd", float("nan")) for r in mine]
            bars = dict(type="data", array=sd, visible=True, thickness=1) if np.isfinite(sd).any() else None
            fig.add_trace(go.Scatter(x=[r["eps"] for r in mine], y=[r[key] for r in mine], name=f"{label} = {v:g}",
                                     error_y=bars, line_color=colour, legendgroup=str(v), showlegend=col == 1), 1, col)
        if paper and v in paper:
            robust, detection, eps = paper[v]
            for col, ys in ((2, robust), (3, detection)):
                fig.add_trace(go.Scatter(x=eps, y=ys, name=f"paper, {label} = {v:g}", line=dict(color=colour, dash="dot"),
                                         legendgroup=str(v), showlegend=col == 2), 1, col)
    fig.update_xaxes(title_text="ε (ℓ∞)")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig


def judge_plot(rows: list[dict], vary: str, label: str) -> go.Figure:
    """Over ε: the share of successful attacks whose reconstruction the judge reads as the adversarial class
    (solid) and as the true class (dotted), one colour per value of vary."""
    fig = go.Figure()
    for i, v in enumerate(sorted({r[vary] for r in rows})):
        mine = [r for r in select(rows, **{vary: v}) if r["successful_attacks"]]
        colour = COLOURS[i % len(COLOURS)]
        for key, dash, what in (("recon_as_adversarial", None, "adversarial class"), ("recon_as_true", "dot", "true class")):
            fig.add_trace(go.Scatter(x=[r["eps"] for r in mine], y=[r[key] for r in mine], name=f"{label} = {v:g}: {what}",
                                     line=dict(color=colour, dash=dash)))
    fig.update_xaxes(title_text="ε (ℓ∞)")
    fig.update_yaxes(title_text="share of successful attacks", range=[0, 1])
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=20, b=10))
    return fig


def figure5_png(t: dict) -> bytes:
    """Rows: clean input, adversarial input, its reconstruction; one column per successful attack."""
    if len(t["fig_x"]) == 0:
        return b""
    grid = np.concatenate([np.concatenate(list(t[k].numpy()), axis=1) for k in ("fig_x", "fig_x_adv", "fig_recon")])
    return gray_png(grid / 255.0, scale=3)


def cell(r: dict | None, key: str) -> str:
    """mean ± seed s.d. (the mean alone with one seed), or — when not measured."""
    if r is None:
        return "—"
    sd = r.get(f"{key}_sd", float("nan"))
    return f"{r[key]:.3f}" + (f" ± {sd:.3f}" if np.isfinite(sd) else "")


def table_block(rows: list[dict], dataset: str, key: str, paper: dict, zero_key: str | None = None) -> tuple:
    """Ours / paper at the tables' ε columns, one line per λ (λ = 0: the capacity sweep's model). zero_key:
    what our ε = 0 cell shows (detection: the true-negative rate, the paper's ε = 0 quantity)."""
    best = BEST_CAPACITY[dataset]
    header = ["λ"] + [f"ε = {e:g}" for e in TABLE_EPS[dataset]]
    body = []
    for lam in sorted({r["l1"] for r in select(rows, dataset=dataset, capacity=best)} | set(L1[dataset]), reverse=True):
        mine = {round(r["eps"], 6): r for r in select(rows, dataset=dataset, capacity=best, l1=lam)}
        theirs = paper[dataset].get(lam)
        cells = [cell(mine.get(round(e, 6)), zero_key if zero_key and e == 0 else key) +
                 (f" / {theirs[j]:.3f}" if theirs else "") for j, e in enumerate(TABLE_EPS[dataset])]
        body.append([f"{lam:g}", *cells])
    return ("table", header, body)


def dataset_blocks(dataset: str, study: Study) -> list[tuple]:
    best = BEST_CAPACITY[dataset]
    rows = select(study.mean_rows, dataset=dataset)
    if not rows:
        return []
    names = CLASS_NAMES[dataset]
    fig_eps = TABLE_EPS[dataset][2]
    blocks = [("h", 2, {"mnist": "MNIST", "fmnist": "Fashion-MNIST"}[dataset])]
    found = claims(study, dataset, fig_eps)
    blocks.append(("h", 3, "The paper's claims"))
    blocks.append(("p", RULE + f" Seeds per model: {distinct(r['seeds'] for r in rows)}; error bars and ± in the "
                                "tables are the seed-to-seed s.d."))
    blocks += [("p", f"**{c['claim']}: {c['verdict']}.** {c['text']}") for c in found]
    sweep = select(rows, l1=0.0)
    blocks += [("h", 3, "Capacity sweep (Fig. " + {"mnist": "4", "fmnist": "3"}[dataset] + ", panels a–c)"),
               ("plot", sweep_plot(sweep, "capacity", "C"), f"{dataset}: λ = 0, one line per capacity C"),
               ("table", ["C", "clean acc", "clean RE"] + [f"robust @ {e:g}" for e in sorted({r['eps'] for r in sweep})],
                [[f"{c:g}", cell(s[0], "clean_accuracy"), f"{s[0]['re_clean']:.2f}",
                  *[cell(r, "robust_accuracy") for r in s]]
                 for c in sorted({r["capacity"] for r in sweep}) if (s := select(sweep, capacity=c))]),
               best_capacity_block(study, dataset)]
    l1_rows = select(rows, capacity=best)
    paper = {lam: (ROBUST[dataset][lam], DETECTION[dataset][lam], TABLE_EPS[dataset]) for lam in L1[dataset]}
    blocks += [("h", 3, f"ℓ1 sweep at C = {best:g} (Tables " + {"mnist": "1 and 3", "fmnist": "2 and 4"}[dataset] + ")"),
               ("plot", sweep_plot(l1_rows, "l1", "λ", paper), f"{dataset}: ours solid, the paper's tables dotted"),
               ("p", "Robust accuracy (PGD-40), ours / the paper's:"), table_block(rows, dataset, "robust_accuracy", ROBUST),
               ("p", "Detection accuracy, ours / the paper's. The paper's ε = 0 column equals 2 × its large-ε value "
                     "− 1 in every MNIST row (0.976 = 2 · 0.988 − 1): it is the detector's accuracy on clean images "
                     "alone, its true-negative rate (TNR), and the other columns average the TNR with a detection "
                     "rate near 1. So our ε = 0 cells show the TNR; the others, first, every attacked image counted "
                     "as adversarial:"),
               table_block(rows, dataset, "detection_accuracy", DETECTION, zero_key="detection_tnr"),
               ("p", "… and over the clean images and the successful attacks only (the paper's “balanced due to the "
                     "high effectiveness of attacks” suggests it counted these):"),
               table_block(rows, dataset, "detection_accuracy_successful", DETECTION, zero_key="detection_tnr")]
    blocks += l1_weight_blocks(study, dataset)
    blocks += second_opinion_blocks(study, dataset)
    blocks += epoch_blocks(study, dataset)
    blocks.append(("h", 3, "Decoded images (Fig. 5)"))
    for meta, t in study.models:
        run = meta["run"]
        if run["dataset"] == dataset and np.isclose(run["capacity"], best) and run["l1"] == 0.0 and run["seed"] == 0 \
                and len(t["fig_x"]):
            y, adv = t["y"][t["fig_index"]], t["pred_adv"][meta["eps"].index(meta["fig_eps"])][t["fig_index"]]
            judged = t["judge_adv"][meta["eps"].index(meta["fig_eps"])][t["fig_index"]]
            cols = "; ".join(f"{names[a]}→{names[b]} (judge: {names[c]})" for a, b, c in zip(y, adv, judged))
            blocks.append(("image", figure5_png(t), f"fig5-{dataset}.png",
                           f"C = {best:g}, ε = {meta['fig_eps']:g}: clean (top), adversarial (middle), its "
                           f"reconstruction (bottom); per column true→predicted: {cols}"))
    blocks.append(("table", ["C", "λ", "ε", "successful attacks", "reconstruction read as adversarial class",
                             "as true class"],
                   [[f"{r['capacity']:g}", f"{r['l1']:g}", f"{r['eps']:g}", f"{r['successful_attacks']:.0f}",
                     f"{r['recon_as_adversarial']:.3f}", f"{r['recon_as_true']:.3f}"]
                    for r in rows if np.isclose(r["eps"], fig_eps) and r["successful_attacks"]]))
    blocks.append(("plot", judge_plot(sweep, "capacity", "C"),
                   f"{dataset}: how the judge reads the reconstructions of successful attacks, over ε, per capacity"))
    return blocks


def distinct(values) -> str:
    """One value, or all of them when the measurements disagree (a work folder reused with other settings)."""
    found = {json.dumps(v): v for v in values}
    show = [("/".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)) for _, v in sorted(found.items())]
    return ", ".join(show) or "?"


def run_blocks(info: dict, judges: dict, measurements: list) -> list[tuple]:
    calls = info.get("invocations", [])
    last = calls[-1] if calls else {}
    metas = [m for m, _ in measurements]
    cfgs = [flat(Config.from_dict(m["config"])) for m in metas]
    train_s = sum(m["training"].get("final", {}).get("wall_s", 0) for m in metas)
    measure_s = sum(m["wall_s"] for m in metas)
    lines = [["command", "; ".join(f"`{c['command']}`" for c in calls) or "?"],
             ["device", last.get("device", "?")],
             ["preset", f"{distinct(m['training'].get('preset') for m in metas)} (widths "
                        f"{distinct((c['width1'], c['width2']) for c in cfgs)}, batch {distinct(c['batch_size'] for c in cfgs)}, "
                        f"optimiser {distinct(c['optimizer'] for c in cfgs)})"],
             ["epochs per model", distinct(c["epochs"] for c in cfgs)],
             ["training images per model", distinct(m["training"].get("train_images") for m in metas)],
             ["models measured", str(len(measurements))],
             ["test images per ε", f"{distinct(m['n_test'] for m in metas)} ({distinct(m.get('subset', 'the first N') for m in metas)})"],
             ["seeds per model", distinct(Counter((m["run"]["dataset"], m["run"]["capacity"], m["run"]["l1"])
                                                  for m in metas).values())],
             ["training images for each detector", distinct(m["n_fit"] for m in metas)],
             ["attack", f"PGD-{distinct(m['steps'] for m in metas)} ℓ∞, step {distinct(m['alpha'] for m in metas)}, "
                        "no random start, on z = μ(x); BatchNorm folded into the convolutions, bf16 autocast where "
                        "the hardware has it (GPUs, CPUs with AVX512-BF16 or AMX)"],
             ["wall time", f"{sum(c['wall_s'] for c in calls) / 60:.1f} min over {len(calls)} invocation(s)"],
             ["compute, summed over models", f"training {train_s / 60:.1f} min, measuring {measure_s / 60:.1f} min"],
             ["finished", last.get("finished") or f"interrupted {last.get('interrupted', '?')}"]]
    lines += [[f"judge CNN ({d})", f"test accuracy {j['test_accuracy']:.4f}"] for d, j in judges.items()]
    return [("h", 1, "Reproducing “β-Variational Classifiers Under Attack”"),
            ("p", "Made by `python -m vacdemo reproduce`; every number below is recomputed from the measurements "
                  "in the work folder by `--report-only`. Detection accuracy is the paper's classification rate over "
                  "the clean and the attacked test images together, with one logistic detector per model fitted on "
                  "training-set adversarials (§6.1) at ε drawn from the grid; at ε = 0 the tables show its "
                  "true-negative rate, the paper's ε = 0 quantity (see the detection tables)."),
            ("table", ["setting", "value"], lines)] + silent_blocks(metas)


def to_markdown(blocks: list[tuple]) -> str:
    out = []
    for b in blocks:
        if b[0] == "h":
            out.append("#" * b[1] + " " + b[2])
        elif b[0] == "p":
            out.append(b[1])
        elif b[0] == "table":
            out.append("\n".join(["| " + " | ".join(b[1]) + " |", "|" + "---|" * len(b[1])] +
                                 ["| " + " | ".join(r) + " |" for r in b[2]]))
        elif b[0] == "plot":
            out.append(f"*(figure in the HTML report: {b[2]})*")
        elif b[0] == "image":
            out.append(f"![{b[2]}]({b[2]})\n\n{b[3]}")
    return "\n\n".join(out) + "\n"


def inline_md(text: str) -> str:
    """**bold** and `code` of our own paragraphs → HTML, the rest escaped."""
    parts = html.escape(text).split("**")
    text = "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def to_html(blocks: list[tuple]) -> str:
    body, plotly_js = [], "inline"  # plotly.js once, in the first figure: the page works offline
    for b in blocks:
        if b[0] == "h":
            body.append(f"<h{b[1]}>{html.escape(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            body.append(f"<p>{inline_md(b[1])}</p>")
        elif b[0] == "table":
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{inline_md(c)}</td>" for c in r) + "</tr>" for r in b[2])
            body.append(f"<table><tr>{head}</tr>{rows}</table>")
        elif b[0] == "plot":
            body.append(b[1].to_html(full_html=False, include_plotlyjs=plotly_js) + f"<p><i>{html.escape(b[2])}</i></p>")
            plotly_js = False
        elif b[0] == "image":
            data = base64.b64encode(b[1]).decode()
            body.append(f'<img alt="{html.escape(b[2])}" src="data:image/png;base64,{data}">'
                        f"<p><i>{html.escape(b[3])}</i></p>")
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "img{image-rendering:pixelated;max-width:100%}table{display:block;overflow-x:auto}")
    # a phone shows it at its own width; served by the app at /app/static/, it links back to the lab two folders up
    back = '<p><a href="../../">← back to the lab</a></p>'
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>vacdemo: reproduction report</title><style>{style}</style></head><body>{back}{''.join(body)}"
            f"{back}</body></html>")


BEGIN, END = "<!-- findings: generated by python -m vacdemo reproduce --readme; do not edit -->", "<!-- end of findings -->"
SHORT = {"Capacity does not control robustness": "capacity does not control robustness",
         "Capacity matters for detection": "too low a capacity hurts detection",
         "ℓ1 regularisation of the classifier does not improve robustness": "ℓ1 does not improve robustness",
         "ℓ1 regularisation lowers detection": "ℓ1 lowers detection",
         "The decoder reconstructs the class": "the decoder draws the wrong class",
         "The β-VAC is not robust to PGD": "not robust to PGD",
         "Its reconstruction error detects the attacks": "the reconstruction error detects the attacks"}


def findings_table(study: Study, source: str) -> str:
    """The verdicts as one Markdown table (claims × data sets), for docs/reproduction.md."""
    found = {d: {c["claim"]: c["verdict"] for c in claims(study, d, TABLE_EPS[d][2])}
             for d in ("mnist", "fmnist") if select(study.mean_rows, dataset=d)}
    seeds = Counter((m["run"]["dataset"], m["run"]["capacity"], m["run"]["l1"]) for m, _ in study.models)
    names = {"mnist": "MNIST", "fmnist": "Fashion-MNIST"}
    lines = ["| claim of the paper | " + " | ".join(names[d] for d in found) + " |", "|---|" + "---|" * len(found)]
    for prefix, short in SHORT.items():
        cells = [next((v for c, v in found[d].items() if c.startswith(prefix)), "not measured") for d in found]
        lines.append(f"| {short} | " + " | ".join(cells) + " |")
    def count(d: str) -> str:
        n = sorted({k for (dd, *_), k in seeds.items() if dd == d})
        return f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
    per = ", ".join(f"{names[d]}: {count(d)} seed(s) per model" for d in found)
    return "\n".join([BEGIN, f"Verdicts of [{source}]({source}) ({per}; rules, margins and seed spreads there):", "",
                      *lines, END])


def update_readme(readme: Path, table: str) -> None:
    """Replace the findings block of readme (between BEGIN and END) with table."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SettingsError(f"{readme} has no findings block: add the two lines {BEGIN!r} and {END!r} where it goes")
    head, rest = text.split(BEGIN, 1)
    readme.write_text(head + table + rest.split(END, 1)[1])


def write_report(work: Path, out: Path, stem: str = "reproduce", readme: Path | None = None) -> list[Path]:
    """Read every measurement under work; write out/stem.md, .html, .csv and the Fig. 5 PNGs."""
    measurements = load_measurements(work)
    if not measurements:
        raise SettingsError(f"no measurements under {work}: run `python -m vacdemo reproduce` without --report-only first")
    info = json.loads((work / "run.json").read_text()) if (work / "run.json").exists() else {}
    judges = {p.parent.name.removeprefix("judge-"): json.loads(p.read_text()) for p in sorted(work.glob("judge-*/judge.json"))}
    study = Study(measurements)
    rows = study.rows
    blocks = run_blocks(info, judges, measurements)
    for d in ("mnist", "fmnist"):
        blocks += dataset_blocks(d, study)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / f"{stem}.md", out / f"{stem}.html", out / f"{stem}.csv"]
    written[0].write_text(to_markdown(blocks))
    written[1].write_text(to_html(blocks))
    with open(written[2], "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for b in blocks:
        if b[0] == "image":
            (out / b[2]).write_bytes(b[1])
            written.append(out / b[2])
    table = findings_table(study, f"{out.as_posix()}/{stem}.md")
    (out / "findings.md").write_text(table + "\n")
    written.append(out / "findings.md")
    if readme is not None:
        update_readme(readme, table)
        written.append(readme)
    return written
