"""vacdemo's lab: pick, draw or upload an input, move ε, and watch PGD fool a β-VAC while its decoder and
its reconstruction-error detector look on. A thin shell: *_ui() read controls, cached package calls do the
math, render_*() draw."""
import hashlib
import io
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import CancelledError

import numpy as np
import streamlit as st
import torch
from streamlit.errors import StreamlitAPIException
from streamlit_drawable_canvas import st_canvas

from ui import inline, scatter, svg
from vacdemo import CLASS_NAMES, CheckpointError, DetectorError
from vacdemo.batcher import Busy
from vacdemo.errors import SettingsError
from vacdemo.images import diverging_png, gray_png, npy_bytes
from vacdemo.preprocess import ImageError, preprocess_image
from vacdemo.serving import Grid, Lab, compare_card, comparison, configure_torch, load_lab, load_rivals, seconds_per_step
from vacdemo.sweep import Sweep, eps_grid

DATASETS = {"mnist": "Digits (MNIST)", "fmnist": "Garments (Fashion-MNIST)"}
SOURCES = {"gallery": "Gallery", "draw": "Draw", "upload": "Upload"}
NORMS = {"inf": "ℓ∞ (the paper's)", "2": "ℓ2"}
Q = "query-params"  # every control is bound to the URL, so a link reopens the exact setup
SPEEDS = {"slow": 0.7, "normal": 0.35, "fast": 0.12}  # Play: seconds per ε
SLOW_S = 5.0  # an attack expected to take longer than this says so before it runs
POLL_S = 0.1  # a waiting page looks at its answer this often
WAIT_S = 600.0  # and gives up after this long, saying so
REPORT_URL = "app/static/reproduce.html"  # the reproduction report, served by Streamlit from static/


@st.cache_data(show_spinner=False)
def latent_background(name: str) -> tuple[str, tuple]:
    """The latent map's test codes as a PNG data URI, and the map's bounds: drawn once per data set."""
    atlas = load_lab(name).atlas
    box = scatter.bounds(atlas.codes.numpy())
    return inline.data_uri(scatter.scatter_png(atlas.codes.numpy(), atlas.labels.numpy(), box, svg.WIDTH)), box


@st.cache_resource
def sweep_cache() -> tuple[OrderedDict, threading.Lock]:
    """Sweeps shared by every session: (image, settings) → Sweep, the 256 most recent. Not st.cache_data, which
    cannot replay a progress bar drawn from inside the cached call. The page never mutates a Sweep."""
    return OrderedDict(), threading.Lock()


def sweep_key(name: str, x: np.ndarray, y: int | None, norm: str, steps: int, alpha: float | None,
              target: int | None, adaptive: bool) -> tuple:
    return name, hashlib.sha1(x.tobytes()).hexdigest(), y, norm, steps, alpha, target, adaptive


def cached(key: tuple) -> Sweep | None:
    cache, lock = sweep_cache()
    with lock:
        if key in cache:
            cache.move_to_end(key)
        return cache.get(key)


def keep(key: tuple, s: Sweep) -> None:
    cache, lock = sweep_cache()
    with lock:
        cache[key] = s
        while len(cache) > 256:
            cache.popitem(last=False)


@st.cache_data(max_entries=32, show_spinner="Attacking every model …")
def compare_cached(name: str, x: np.ndarray, y: int | None, steps: int, alpha: float | None):
    """The comparison's grids of one input (vacdemo.serving.comparison), cached for every session."""
    return comparison(name, x, y, steps, alpha)


@st.cache_data(max_entries=64, show_spinner=False)
def prepare(data: bytes, name: str) -> np.ndarray:
    return preprocess_image(data, name).numpy()


# ---------------------------------------------------------------- controls: they return plain values
def dataset_ui() -> str:
    return st.sidebar.radio("Data set", list(DATASETS), format_func=DATASETS.get, key="data", bind=Q)


def samples_of(lab: Lab, cls: int) -> list[int]:
    """Gallery positions of a class, those the model reads right first: sample 1 is never wrong from the start."""
    pos = lab.gallery.of_class(cls)
    return sorted(pos, key=lambda i: not lab.gallery_right[i])


def pick_random(lab: Lab, name: str) -> None:
    i = int(np.random.default_rng().integers(len(lab.gallery)))
    c = int(lab.gallery.labels[i])
    st.session_state[f"cls_{name}"] = c
    st.session_state[f"sample_{name}"] = samples_of(lab, c).index(i) + 1


def redraw_canvas(name: str, start: dict | None) -> None:
    """Redraw the canvas from `start` (fabric.js JSON) or blank: a new starting drawing (its version changes) makes
    the canvas redraw and send its picture, where a new widget key would not send one until the next stroke."""
    st.session_state[f"canvas_start_{name}"] = start
    st.session_state[f"canvas_version_{name}"] = st.session_state.get(f"canvas_version_{name}", 0) + 1


def undo_stroke(name: str) -> None:
    drawing = st.session_state.get(f"canvas_json_{name}") or {}
    objects = drawing.get("objects", [])
    redraw_canvas(name, {**drawing, "objects": objects[:-1]} if len(objects) > 1 else None)


def clear_canvas(name: str) -> None:
    redraw_canvas(name, None)


def input_ui(lab: Lab, name: str) -> tuple[np.ndarray | None, int | None, str]:
    """The 28×28 input (or None, with a message shown), its true class when known, and where it came from."""
    names = CLASS_NAMES[name]
    source = st.sidebar.radio("Input", list(SOURCES), format_func=SOURCES.get, key="source", horizontal=True, bind=Q)
    if source == "gallery":
        # keys per data set: a digit's class never shows above a garment, and a link reopens the same image
        cls = st.sidebar.selectbox("Class", range(10), format_func=lambda c: names[c], key=f"cls_{name}", bind=Q)
        pos = samples_of(lab, cls)
        sample = st.sidebar.slider("Sample", 1, len(pos), key=f"sample_{name}", bind=Q) if len(pos) > 1 else 1
        st.sidebar.button("Random test image", icon=":material/shuffle:", on_click=pick_random, args=(lab, name))
        i = pos[min(sample, len(pos)) - 1]
        wrong = "" if lab.gallery_right[i] else ", misread by the model already at ε = 0"
        if not lab.gallery_right[i]:
            st.sidebar.caption(f"Samples {len(pos) - int((~lab.gallery_right[pos]).sum()) + 1}–{len(pos)} of this "
                               "class are misread by the model even without an attack.")
        return lab.gallery.image(i).numpy(), cls, f"test image #{int(lab.gallery.indices[i])} ({names[cls]}{wrong})"
    if source == "draw":
        thing = "digit" if name == "mnist" else "garment"
        left, right = st.columns([1, 2])
        version = st.session_state.get(f"canvas_version_{name}", 0)
        with left:  # in the main area, not the sidebar: on a phone the sidebar is folded away
            canvas = st_canvas(stroke_width=18 if name == "mnist" else 28, stroke_color="#FFFFFF",
                               background_color="#000000", height=252, width=252, drawing_mode="freedraw",
                               initial_drawing={**(st.session_state.get(f"canvas_start_{name}") or {"objects": []}),
                                                "version": version},  # a new version redraws it, picture and all
                               return_image_data=True, key=f"canvas_{name}")
            st.session_state[f"canvas_json_{name}"] = canvas.json_data
            b1, b2 = st.columns(2)  # always visible and finger-sized: the canvas's own toolbar shows on hover only
            b1.button("Undo", icon=":material/undo:", key="canvas_undo", on_click=undo_stroke, args=(name,),
                      width="stretch")
            b2.button("Clear", icon=":material/delete:", key="canvas_clear", on_click=clear_canvas, args=(name,),
                      width="stretch")
        right.markdown(f"**Draw a {thing}** with the mouse or a finger, large and in the middle. **Undo** takes "
                       "back the last stroke, **Clear** starts again. Each stroke re-runs the attack.")
        if not (canvas.json_data or {}).get("objects"):
            right.info(f"Draw a {thing} on the canvas.", icon=":material/draw:")
            return None, None, "drawing"
        data, what = canvas.image_bytes, "your drawing"
        if data is None:  # the canvas has strokes but has not sent its picture yet
            right.info("One moment: the drawing is on its way.", icon=":material/draw:")
            return None, None, what
    else:
        up = st.sidebar.file_uploader("An image: PNG, JPEG, GIF, BMP or WebP, at most 5 MB",
                                      type=["png", "jpg", "jpeg", "gif", "bmp", "webp"],
                                      key=f"upload_{name}")
        if up is None:
            st.info("Upload a picture of a " + ("digit" if name == "mnist" else "garment") + " in the sidebar.",
                    icon=":material/upload:")
            return None, None, "upload"
        data, what = up.getvalue(), "`" + up.name.replace("`", "'") + "`"  # as code: a name is not markdown
    try:
        return prepare(data, name), None, what
    except ImageError as e:
        st.error(f"{what} could not be used: {e}")
        return None, None, what


def attack_ui(name: str, y: int | None) -> dict:
    """Norm, steps, step size, targeted or not, detector-aware or not."""
    sb = st.sidebar
    sb.subheader("Attack")
    norm = sb.radio("Norm", list(NORMS), format_func=NORMS.get, key="norm", horizontal=True, bind=Q)
    mode = sb.radio("Goal", ["untargeted", "targeted", "evade the detector"], key="mode", bind=Q,
                    help="Untargeted: any wrong class. Targeted: the class you pick. Evade the detector: "
                         "a wrong class while keeping the reconstruction error under the detector's threshold.")
    target = None
    if mode == "targeted":
        target = sb.selectbox("Turn it into", range(10), index=None, format_func=lambda c: CLASS_NAMES[name][c],
                              key=f"target_{name}", bind=Q, placeholder="choose a class")
        if target is not None and target == y:
            sb.warning("That is already its class: choose another.")
            target = None
    with sb.expander("Advanced"):
        steps = st.slider("PGD steps", 1, 200, 40, key="steps", bind=Q)
        auto = st.checkbox("Default step size", True, key="auto_alpha", bind=Q,
                           help="ℓ∞: 0.01 (the paper's). ℓ2: 2.5·ε/steps for each ε.")
        alpha = None if auto else st.slider("Step size α", 0.001, 0.1, 0.01, 0.001, format="%.3f", key="alpha",
                                            bind=Q)
        reach, top = steps * (alpha or 0.01), eps_grid(name, norm)[-1]
        if norm == "inf" and reach < top:
            st.caption(f":material/warning: {steps} steps of {alpha or 0.01:g} move each pixel at most {reach:.3f}, less than the "
                       f"largest ε ({top:g}): larger ε then give the same result.")
    return dict(norm=norm, steps=steps, alpha=alpha, target=target, adaptive=mode == "evade the detector",
                targeted=mode == "targeted")


# ---------------------------------------------------------------- drawing: no math, only what a Sweep holds
def grey_levels(eps: float) -> int:
    """ε on [0, 1] pixels in the 0–255 grey levels a student knows from image editors."""
    return int(round(eps * 255))


def change_words(s: Sweep, k: int, norm: str) -> str:
    """How big the change is, in words."""
    if norm == "inf":
        return f"Each pixel changed by at most {grey_levels(s.eps[k])} of 255 grey levels (ε = {s.eps[k]:.3f})"
    delta, _ = s.perturbation(k, norm)
    return (f"The picture changed by a total length of {s.eps[k]:.2f} (ℓ2, ε = {s.eps[k]:.3f}); its most changed "
            f"pixel by {grey_levels(float(np.abs(delta).max()))} of 255 grey levels")


def alarm_words(s: Sweep, k: int, tau: float) -> str:
    if s.flagged[k]:
        return f"Alarm on: the redrawn image differs by {s.re[k]:.2f}, above the limit {tau:.2f}."
    return f"Alarm off: the redrawn image differs by {s.re[k]:.2f}, under the limit {tau:.2f}."


def headline(s: Sweep, k: int, names: list[str], tau: float, adaptive: bool) -> None:
    """A sentence a 15-year-old reads first; the exact figures one click away."""
    before, after = s.pred[0], s.pred[k]
    sure = f"{s.probs[k, after]:.0%} sure"
    truth = f" It is really a **{names[s.y]}**: the model is wrong before any attack." if s.wrong_from_start else ""
    alarm = alarm_words(s, k, tau)
    if k == 0:
        st.info(f"No change yet (ε = 0): the model says **{names[before]}**, {sure}.{truth} {alarm}")
    elif s.target is not None and after == s.target:
        st.error(f"{change_words(s, k, s.norm)} → the model now says **{names[after]}**, as the attacker wanted, "
                 f"{sure}. {alarm}")
    elif after != before:
        evaded = " The attacker slipped past the detector." if adaptive and not s.flagged[k] else ""
        st.error(f"{change_words(s, k, s.norm)} → the model now says **{names[after]}**, {sure}. {alarm}{evaded}")
    else:
        goal = f", not yet {names[s.target]}" if s.target is not None else ""
        st.success(f"{change_words(s, k, s.norm)}, and the model still says **{names[after]}**{goal}, {sure}. "
                   f"{alarm}")
    with st.expander("Exact figures", icon=":material/calculate:"):
        st.markdown(f"ε = {s.eps[k]:.4f} (ℓ{'∞' if s.norm == 'inf' else '2'}) · prediction {names[after]} · "
                    f"P = {s.probs[k, after]:.4f} · reconstruction error RE = ‖x − x̂‖₂ = {s.re[k]:.3f} "
                    f"{'>' if s.flagged[k] else '≤'} τ = {tau:.3f} · detector score P(adversarial) = {s.score[k]:.3f}")


def render_images(s: Sweep, k: int, names: list[str], norm: str, size: int) -> None:
    delta, bound = s.perturbation(k, norm)
    gain = 1 / bound if bound > 0 else 1.0
    raw = np.clip(0.5 + delta, 0, 1)  # the change at its true size, mid-grey = no change
    st.html(inline.row([(gray_png(s.x_adv[0]), f"input: {names[s.pred[0]]}"),
                        (diverging_png(delta, bound), f"the change, amplified {gain:.0f}× (blue −, red +)" if bound > 0
                         else "the change: none yet"),
                        (gray_png(raw), "the change at true size: can you see it?"),
                        (gray_png(s.x_adv[k]), f"attacked: {names[s.pred[k]]}"),
                        (gray_png(s.recon[0]), "the decoder redraws the input"),
                        (gray_png(s.recon[k]), "the decoder redraws the attacked one")], size))


def film_strip(s: Sweep, k: int, names: list[str]) -> str:
    flip = s.flip()
    frames = sorted({*range(0, len(s.eps), 2), *([flip] if flip is not None else []), k})
    items = [(gray_png(s.recon[j], 3), f"{'▶ ' if j == k else ''}{'⚑ ' if j == flip else ''}{s.eps[j]:.3f}: "
              f"{names[s.pred[j]]}") for j in frames]
    return inline.row(items, 52, caption_width=58, gap=5, highlight=frames.index(k))


def render_film(s: Sweep, k: int, names: list[str]) -> None:
    flip = s.flip()
    if s.wrong_from_start:
        where = f"; the model is wrong already at ε = 0 (it is a {names[s.y]})"
    elif flip is None:
        where = "; the prediction never flips on this grid"
    else:
        where = f"; the prediction flips at ε = {s.eps[flip]:.3f} (⚑)"
    st.markdown("**Film strip**: the decoder's reconstruction as ε grows" + where + "; ▶ marks the current ε")
    st.html(film_strip(s, k, names))


def render_curves(s: Sweep, k: int, names: list[str], tau: float) -> None:
    wrong = int(np.delete(np.arange(10), s.y)[np.delete(s.probs[-1], s.y).argmax()])  # the top wrong class at the end
    flip = s.flip()
    panels = [svg.curve_panel(s.eps, "classifier", [(s.probs[:, s.y], f"P({names[s.y]})", svg.CLEAN),
                                                    (s.probs[:, wrong], f"P({names[wrong]})", svg.ADV)], None, 1.0, k, flip),
              svg.curve_panel(s.eps, "reconstruction error", [(s.re, "RE", "#009E73")], tau,
                              float(max(s.re.max(), tau) * 1.1), k, flip),
              svg.curve_panel(s.eps, "detector", [(s.score, "P(adversarial)", "#CC79A7")], 0.5, 1.0, k, flip)]
    st.html(inline.row([(p, "") for p in panels], 250))


def latent_note(s: Sweep, names: list[str]) -> str:
    start, end = s.pred[0], s.pred[-1]
    if end == start:
        return f"The code stays among the {names[start]}s: the attack did not move it into another class."
    return f"The code walks from the {names[start]}s toward the {names[end]}s as ε grows."


def render_latent(lab: Lab, name: str, s: Sweep, k: int) -> None:
    background, box = latent_background(name)
    path = lab.atlas.project(s.z)
    st.html(inline.row([(svg.latent_map(background, scatter.to_pixels(box, svg.WIDTH), path, k, s.flip(),
                                        CLASS_NAMES[name], latent_note(s, CLASS_NAMES[name])), "")], svg.WIDTH + 190))


def render_downloads(s: Sweep, k: int, names: list[str], name: str) -> None:
    c1, c2, c3 = st.columns([1, 1, 3])
    stem = f"{name}_adv_eps{s.eps[k]:.3f}"
    c1.download_button("PNG (8-bit)", gray_png(s.x_adv[k], 1), f"{stem}.png", "image/png", icon=":material/download:")
    c2.download_button(".npy (float32)", npy_bytes(s.x_adv[k]), f"{stem}.npy", "application/octet-stream",
                       icon=":material/download:")
    if k == 0 or s.pred[k] == s.pred[0]:
        note = "At this ε the attack does not change the prediction."
    elif s.pred_8bit[k] != s.pred[0]:
        note = f"Saved as an 8-bit PNG (pixels rounded to 1/255) it still fools the model: **{names[s.pred_8bit[k]]}**."
    else:
        note = (f"Saved as an 8-bit PNG, rounding the pixels to 1/255 undoes the attack: the model says "
                f"**{names[s.pred_8bit[k]]}** again. The .npy keeps the exact pixels.")
    c3.caption(note)


def render_panel(lab: Lab, name: str, s: Sweep, k: int, norm: str, adaptive: bool, present: bool) -> None:
    """The view at one ε: everything that shows the current ε is drawn here, as inline HTML/SVG."""
    names = CLASS_NAMES[name]
    tau = lab.detector.threshold
    headline(s, k, names, tau, adaptive)
    if present:  # spot the difference: the pair, big
        st.html(inline.row([(gray_png(s.x_adv[0], 10), f"before: {names[s.pred[0]]}"),
                            (gray_png(s.x_adv[k], 10), f"after: {names[s.pred[k]]}")], 280))
    render_images(s, k, names, norm, 180 if present else 120)
    lines = [(tau, "limit", "black", True), (s.re[0], "clean", svg.CLEAN, False), (s.re[k], "attacked", svg.ADV, False)]
    st.html(inline.row([(svg.probability_bars(names, s.probs[0], s.probs[k]), ""),
                        (svg.error_histogram(*lab.atlas.re_histogram(), lines), "")], svg.WIDTH))
    render_film(s, k, names)
    render_curves(s, k, names, tau)
    if not present:
        render_latent(lab, name, s, k)


VIEWS = {"lab": "β-VAC lab", "compare": "Compare models"}
OTHERS_HAVE = {"plain CNN": "No decoder, so no detector: nothing tells it that an input was attacked.",
               "adversarially trained CNN": "No decoder, so no detector: its defence is robustness itself, learnt "
                                            "from attacks during training."}


def view_ui(name: str) -> str:
    """The β-VAC lab, or the comparison with the shipped rivals (offered only where they are shipped)."""
    try:
        if not load_rivals(name):
            return "lab"
    except (CheckpointError, ValueError) as e:
        st.sidebar.warning(f"The comparison's models could not be loaded: {e}")
        return "lab"
    return st.sidebar.radio("View", list(VIEWS), format_func=VIEWS.get, key="view", bind=Q, horizontal=True,
                            help="Compare: the same input and attack on the β-VAC, a plain CNN and an "
                                 "adversarially trained CNN, side by side.")


@st.cache_resource(show_spinner=False)
def robustness_figure(card: dict):
    import plotly.graph_objects as go  # drawn once per data set: the chart does not change with ε
    colours = ["#0072B2", "#E69F00", "#009E73"]  # Okabe–Ito: told apart with colour-blindness too
    fig = go.Figure([go.Scatter(x=card["eps"], y=acc, mode="lines+markers", name=k, line=dict(color=colours[i % 3]),
                                marker=dict(symbol=["circle", "square", "diamond"][i % 3]))
                     for i, (k, acc) in enumerate(card["robust"].items())])
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="ε (ℓ∞)",
                      yaxis_title="robust accuracy", yaxis_range=[0, 1.02], legend=dict(orientation="h"))
    return fig


def transfer_table(c, names: list[str]) -> str:
    """Markdown: row i, the attack made for model i; column j, what model j reads on it (✗: fooled, ✓: not)."""
    head = "| attack made for ↓ · read by → | " + " | ".join(c.names) + " |\n|---|" + "---|" * len(c.names)
    rows = [f"| {src} | " + " | ".join(f"{names[p]} {'✗' if fooled else '✓'}"
                                      for p, fooled in zip(c.probs[i].argmax(-1), c.transfer[i])) + " |"
            for i, src in enumerate(c.names)]
    return "\n".join([head, *rows])


def render_compare(lab: Lab, name: str, x: np.ndarray, y: int | None, settings: dict, present: bool) -> None:
    """The same input and attack on each model, each with its own gradients, at the slider's ε; transfer."""
    names = CLASS_NAMES[name]
    if settings["norm"] != "inf" or settings["target"] is not None or settings["adaptive"]:
        st.info("The comparison runs the paper's attack on every model: untargeted ℓ∞ PGD, with your steps and "
                "step size.", icon=":material/info:")
    try:
        grid, recon, re, score = compare_cached(name, x, y, settings["steps"], settings["alpha"])
    except Exception as e:  # noqa: BLE001  one clear line, never a traceback
        st.error(f"The comparison could not run ({type(e).__name__}: {e}). Pick the input again to retry.")
        return
    top, n = float(grid.eps[-1]), len(grid.eps)
    eps = st.slider("ε, the attack's budget (every model)", 0.0, top, step=top / (n - 1), format="%.3f",
                    key=f"cmp_eps_{name}", bind=Q)
    k = int(round(eps / top * (n - 1)))
    c = grid.at(k)
    st.markdown(f"**The same input and the same attack (PGD-{settings['steps']}, each pixel changed by at most "
                f"{grey_levels(c.eps)} of 255 grey levels, ε = {c.eps:.3f}), each model attacked with its own "
                "gradients.** " + (f"True class: **{names[grid.ys[0]]}**." if grid.labelled else
                                   "Each model's attack moves it away from what that model reads on it."))
    size = 150 if present else 110
    for i, model_name in enumerate(c.names):
        pred = int(c.probs[i, i].argmax())
        sure = f"{c.probs[i, i, pred]:.0%} sure"
        col_text, col_pics = st.columns([2, 3])
        with col_text:
            st.markdown(f"#### {model_name}")
            if k == 0:
                st.info(f"No attack yet: it says **{names[pred]}**, {sure}.")
            elif pred != grid.ys[i]:
                st.error(f"Fooled: it says **{names[pred]}**, {sure}.")
            else:
                st.success(f"Not fooled: it still says **{names[pred]}**, {sure}.")
            if i == 0:
                tau = lab.detector.threshold
                st.caption(f"Its detector: the redrawn image differs by {re[k]:.2f}, "
                           f"{'above' if re[k] > tau else 'under'} the limit {tau:.2f}: alarm "
                           f"{'on' if re[k] > tau else 'off'} (P(adversarial) = {score[k]:.2f}).")
            else:
                st.caption(OTHERS_HAVE.get(model_name, ""))
        delta = c.x_adv[i] - x[0]
        pics = [(gray_png(c.x_adv[i]), f"attacked for it: {names[pred]}"),
                (diverging_png(delta, c.eps) if c.eps > 0 else gray_png(0.5 + delta),
                 "the change that fooled it" if pred != grid.ys[i] else "the attack's change: not enough")]
        if i == 0:
            pics.append((gray_png(recon[k]), "its decoder redraws it"))
        col_pics.html(inline.row(pics, size))
    st.markdown("**Transfer**: does the image made to fool one model fool the others? (✗ fooled, ✓ right)")
    st.markdown(transfer_table(c, names))
    card = compare_card(name)  # a small JSON the card command wrote, or None
    if card is None:
        st.caption("The robustness chart over the test set comes with the shipped comparison: `python -m vacdemo "
                   "card` measures it.")
        return
    st.markdown(f"**Robust accuracy over ε** on {card['n']} test images (PGD-40; measured by `python -m vacdemo "
                f"card`, not on this page). With the stronger APGD too (on {card['stronger_n']} images), at " +
                "; at ".join(f"ε = {s['eps']:g}: " + ", ".join(f"{k} {v:.1%}" for k, v in s["accuracy"].items())
                             for s in card["stronger"]) + ".")
    st.plotly_chart(robustness_figure(card), config={"displayModeBar": False})


def play_controls(key: str) -> float:
    """Play / Pause and the speed; returns the seconds per frame."""
    playing = st.session_state.get(f"playing_{key}", False)
    c1, c2 = st.columns([1, 2])
    label, icon = ("Pause", ":material/pause:") if playing else ("Play", ":material/play_arrow:")
    c1.button(label, icon=icon, key=f"play_{key}", on_click=toggle_play, args=(key,),
              help="Sweep ε from its current value to the largest, moving the slider")
    speed = c2.segmented_control("Speed", list(SPEEDS), default="normal", key=f"speed_{key}",
                                 label_visibility="collapsed")
    return SPEEDS[speed or "normal"]


def toggle_play(key: str) -> None:
    playing = st.session_state.get(f"playing_{key}", False)
    st.session_state[f"playing_{key}"] = not playing
    st.session_state[f"restart_{key}"] = not playing


def rerun_panel() -> None:
    """The next frame: only the fragment when this run is one, else the page (a Play started by a full run)."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def eps_slider(where, name: str, norm: str) -> int:
    """The ε slider (bound to the URL); → the grid index it points at. The same widget in the page while the
    grid fills in and in the panel after."""
    grid = eps_grid(name, norm)
    top, n = float(grid[-1]), len(grid)
    eps = where.slider("ε, the attack's budget", 0.0, top, step=top / (n - 1), format="%.3f", key=f"eps_{name}_{norm}",
                       bind=Q, help="ℓ∞: the most any one pixel may change (1 = black to white). ℓ2: the length of "
                                    "the whole change, all pixels together." +
                                    (" An ℓ2 budget spreads: a few pixels may change a lot." if norm == "2" else ""))
    return int(round(eps / top * (n - 1)))


@st.fragment
def attack_panel(lab: Lab, name: str, s: Sweep, norm: str, adaptive: bool, present: bool) -> None:
    """Moving ε reruns only this: the grid is already computed, so a move only indexes it. Play moves the slider
    itself, one ε per frame, and stops on the last one."""
    names = CLASS_NAMES[name]
    top, n = float(s.eps[-1]), len(s.eps)
    key = f"eps_{name}_{norm}"
    for other in [k for k in st.session_state if k.startswith("playing_") and k != f"playing_{key}"]:
        st.session_state[other] = False  # a Play left running on another data set or norm stays stopped
    playing = st.session_state.get(f"playing_{key}", False)
    if playing:  # advance one frame before the slider is drawn, so the slider shows it
        now = int(round(st.session_state.get(key, 0.0) / top * (n - 1)))
        restart = st.session_state.pop(f"restart_{key}", False) and now >= n - 1  # Play at the end starts over
        st.session_state[key] = float(s.eps[0 if restart else min(now + 1, n - 1)])
    c1, c2 = st.columns([3, 2])
    k = eps_slider(c1, name, norm)
    with c2:
        delay = play_controls(key)
    render_panel(lab, name, s, k, norm, adaptive, present)
    if not present:
        render_downloads(s, k, names, name)
    if playing:
        if k >= n - 1:
            st.session_state[f"playing_{key}"] = False  # stop on the last frame, the slider there
        time.sleep(delay)
        rerun_panel()


ABOUT = """
A **β-Variational Classifier** (Maggipinto, Terzi, Susto) encodes an image into a 100-number code z, and
reads the class from z with a small network while a decoder redraws the image from the same z. The paper
asks whether squeezing z (its capacity C) makes the classifier robust to **adversarial examples**: inputs
changed by at most ε per pixel so that the prediction flips. Its answers, which you can check here:

1. **Not robust.** Projected gradient descent (PGD: 40 small steps uphill on the classifier's loss, each
   kept within ε of the input) flips most predictions at small ε. Move the ε slider and watch.
2. **But detectable.** The decoder does not redraw the attacked input faithfully: its *reconstruction error*
   jumps, and a simple threshold on it (the detector) flags the attack. See the histogram.
3. **The decoder is fooled too**, as ε grows: it redraws the attacked input as the *wrong* class. See the
   film strip, and how often it happens in [the reproduction report]({report}).

Try *evade the detector*: an attacker who knows the detector keeps the reconstruction error under the
threshold while still flipping the class. And draw your own digit: does it fool the model as easily?
"""

GLOSSARY = """
- **ε (epsilon)**: the attack's budget. With ℓ∞ (the paper's), the most any one pixel may change, on a scale
  where 1 is black to white: ε = 0.03 is about 8 of 255 grey levels. With ℓ2, the length of the whole change
  (the square root of the sum of every pixel's change squared): the budget can go to a few pixels or spread
  thinly over all of them.
- **PGD (projected gradient descent)**: the attack. It nudges every pixel a little in the direction that most
  lowers the model's confidence in the right class, 40 times, and after each nudge pulls the picture back
  within ε of the original.
- **Reconstruction error (RE)**: how different the decoder's redrawing is from the picture it was given
  (‖x − x̂‖₂). Real pictures are redrawn well; attacked ones less so.
- **Detector**: an alarm on the reconstruction error: it goes off above a limit τ learnt from clean and
  attacked training images (§6.1 of the paper).
"""


def present_mode() -> bool:
    """?present=1 (or the toggle): the projector view."""
    return st.query_params.get("present") in ("1", "true")


def set_present() -> None:
    if st.session_state.get("present_toggle"):
        st.query_params["present"] = "1"
    else:
        st.query_params.pop("present", None)


# Every control bound to the URL, and its default: Reset sets these (bound parameters cannot simply be cleared).
DEFAULTS = {"data": "mnist", "view": "lab", "source": "gallery", "norm": "inf", "mode": "untargeted", "steps": 40,
            "auto_alpha": True, "alpha": 0.01, "present_toggle": False}
DEFAULT_PREFIXES = {"cls_": 0, "sample_": 1, "eps_": 0.0, "cmp_eps_": 0.0, "target_": None}


def reset() -> None:
    """Back to the default setup: every control (and so the URL), and any Play or drawing in progress."""
    for k in list(st.session_state):
        prefix = next((p for p in DEFAULT_PREFIXES if k.startswith(p)), None)
        if k in DEFAULTS:
            st.session_state[k] = DEFAULTS[k]
        elif prefix is not None:
            st.session_state[k] = DEFAULT_PREFIXES[prefix]
        elif k.startswith(("playing_", "restart_", "canvas_start_", "canvas_version_")):
            del st.session_state[k]
    st.query_params.pop("present", None)


def render_presenter(present: bool) -> None:
    if not present:
        return
    st.html("<style>[data-testid=stMainBlockContainer] {font-size: 1.5rem} "
            "[data-testid=stMainBlockContainer] p, [data-testid=stMainBlockContainer] li {font-size: 1.5rem}</style>")


def render_join(address: str) -> None:
    """The address students open, with a QR code of it."""
    import segno  # only the projector view draws a QR code
    buf = io.BytesIO()
    segno.make(address, error="m").save(buf, kind="png", scale=6, border=2)
    c1, c2 = st.columns([1, 4])
    c1.html(inline.row([(buf.getvalue(), "")], 180))
    c2.markdown(f"### Join from your phone\n**{address}**")


def main() -> None:
    present = present_mode()
    st.set_page_config(page_title="vacdemo: β-VAC under attack", page_icon="🛡️", layout="wide",
                       initial_sidebar_state="collapsed" if present else "auto")
    st.html("<style>img {image-rendering: pixelated;} "  # never let the browser blur a pixel
            ".st-key-canvas_undo button, .st-key-canvas_clear button {min-height: 48px}</style>")  # finger-sized
    render_presenter(present)
    st.title("β-Variational Classifiers under attack")
    configure_torch()
    if not present:
        with st.expander("What is this? How to read the page", expanded=False, icon=":material/help:"):
            st.markdown(ABOUT.format(report=REPORT_URL))
            st.markdown("**Words on this page**\n" + GLOSSARY)
        st.caption("On a phone, the settings are behind **»** at the top left.")
    st.sidebar.toggle("Projector mode", value=present, key="present_toggle", on_change=set_present,
                      help="Big text and pictures for a class; the address and a QR code to join.")
    st.sidebar.button("Reset", icon=":material/restart_alt:", on_click=reset, key="reset", help="Back to the default setup")
    name = dataset_ui()
    try:
        lab = load_lab(name)
    except (CheckpointError, DetectorError, ValueError) as e:
        st.error(f"The shipped model for {DATASETS[name]} could not be loaded: {e}")
        st.stop()
    if present:
        render_join(st.context.url.split("?")[0] if st.context.url else "http://localhost:8501")
    view = view_ui(name)
    x, y, what = input_ui(lab, name)
    settings = attack_ui(name, y)
    if x is None:
        return
    st.sidebar.image(gray_png(x[0], 4), caption="what the model sees (28×28)", width=112)
    if settings.pop("targeted") and settings["target"] is None:
        st.info("Choose the class to turn it into, in the sidebar.", icon=":material/target:")
        return
    if view == "compare":
        render_compare(lab, name, x, y, settings, present)
        return
    s = run_attack(lab, name, x, y, settings)
    if s is None:
        return
    if s.target is not None and s.target == s.y:
        st.warning(f"The model already reads this as **{CLASS_NAMES[name][s.y]}**: choose another class to turn "
                   "it into.")
        return
    if not present:
        threads = torch.get_num_threads()
        where = "GPU" if s.device.startswith("cuda") else f"CPU ({threads} thread{'s' if threads > 1 else ''})"
        st.caption(f"{what} · PGD-{settings['steps']} at {len(s.eps)} values of ε, the slider's first; the whole "
                   f"grid took {s.seconds * 1000:.0f} ms on {where}, waiting in the queue included (attacks that "
                   "wait at the same moment run as one batch)" +
                   (" · the detector was fitted on ℓ∞ attacks" if settings["norm"] == "2" else ""))
    attack_panel(lab, name, s, settings["norm"], settings["adaptive"], present)


def session_id() -> str:
    """Who waits for an attack: one id per browser tab, kept in its session state."""
    return st.session_state.setdefault("attack_owner", uuid.uuid4().hex)


def run_attack(lab: Lab, name: str, x: np.ndarray, y: int | None, settings: dict) -> Sweep | None:
    """The sweep, when this input's grid is done (cached for every session). Else the grid goes into the
    server's shared attack queue with the slider's ε first: its verdict is drawn as soon as that row is back,
    the rest fills in behind it, then the page reruns with the whole grid. Moving the slider meanwhile reruns
    this with the new ε first. None: nothing more to draw in this run."""
    key = sweep_key(name, x, y, **settings)
    slow = st.session_state.pop("slow_note", None)
    s = cached(key)
    if s is not None:
        if slow and slow[0] == key:  # the run that paid for it said so; the rerun that shows it still does
            st.warning(slow[1], icon=":material/hourglass_top:")
        return s
    estimate = seconds_per_step() * settings["steps"] * (3 if settings["adaptive"] else 1)
    if estimate > SLOW_S:
        note = (f"These settings take about {estimate:.0f} s ({settings['steps']} steps"
                f"{', detector-aware' if settings['adaptive'] else ''}): fewer steps under Advanced are quicker.")
        st.warning(note, icon=":material/hourglass_top:")
        st.session_state["slow_note"] = key, note
    k = eps_slider(st.columns([3, 2])[0], name, settings["norm"])
    status = st.empty()
    grid = None
    try:
        grid = Grid(name, x, y, **settings, first=k, owner=session_id())
        if grid.target is not None and grid.target == grid.y:
            grid.drop()
            st.warning(f"The model already reads this as **{CLASS_NAMES[name][grid.y]}**: choose another class to "
                       "turn it into.")
            return None
        wait(grid, k, status)
        partial = grid.sweep([0, k] if k else [0])
        status.empty()
        names = CLASS_NAMES[name]
        headline(partial, len(partial.eps) - 1, names, lab.detector.threshold, settings["adaptive"])
        render_images(partial, len(partial.eps) - 1, names, settings["norm"], 120)
        fill = st.empty()
        while (done := grid.count_done()) < len(grid.eps):
            fill.progress(done / len(grid.eps), text=f"Filling in the other values of ε: {done} of {len(grid.eps)} "
                                                     "… (a stronger attack found at a smaller ε can still change "
                                                     "this answer)")
            time.sleep(POLL_S)
        s = grid.sweep()
    except Busy:
        status.warning("The server is busy with everyone's attacks: try again in a few seconds.",
                       icon=":material/hourglass_top:")
        return None
    except SettingsError as e:
        status.error(f"These attack settings cannot run: {e}")
        return None
    except CancelledError:  # this tab asked for another input meanwhile: that run draws it
        return None
    except Exception as e:  # noqa: BLE001  one clear line, never a traceback; nothing of the page is lost
        if grid is not None:
            grid.drop()
        status.error(f"The attack failed on the server ({type(e).__name__}: {e}). Pick the input again to retry.")
        return None
    keep(key, s)
    st.rerun()  # the whole page, from the cached grid


def wait(grid: Grid, k: int, status) -> None:
    """Until row k is back: where it stands in the queue, or how far its batch has come (redrawn on change)."""
    shown, deadline = None, time.monotonic() + WAIT_S
    while not grid.done(k):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer within {WAIT_S:.0f} s")
        ahead = grid.ahead(k)
        step, steps = grid.progress(k) if not ahead else (0, 0)
        if (ahead, step) != shown:
            shown = ahead, step
            if ahead:
                status.info(f"Queued: {ahead} other attack{'s' if ahead > 1 else ''} ahead of yours …",
                            icon=":material/hourglass_top:")
            else:
                status.progress(step / steps if steps else 0.0,
                                text=f"Attacking: PGD step {step} of {steps} …" if steps else "Attacking …")
        try:
            grid.futures[k].result(timeout=POLL_S)
        except TimeoutError:
            pass


if __name__ == "__main__":
    main()
