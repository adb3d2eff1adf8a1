"""vacdemo's lab: pick, draw or upload an input, move ε, and watch PGD fool a β-VAC while its decoder and
its reconstruction-error detector look on. A thin shell: *_ui() read controls, cached package calls do the
math, render_*() draw."""
import time
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from streamlit_drawable_canvas import st_canvas

from ui import figures, inline, svg
from vacdemo import CLASS_NAMES, CheckpointError, Detector, DetectorError, load_pretrained
from vacdemo.atlas import Atlas, load_atlas
from vacdemo.checkpoint import PRETRAINED
from vacdemo.device import pick_device, serving_threads
from vacdemo.gallery import Gallery, load_gallery
from vacdemo.images import diverging_png, gray_png, npy_bytes
from vacdemo.preprocess import ImageError, preprocess_image
from vacdemo.sweep import Sweep, eps_grid, sweep

DATASETS = {"mnist": "Digits (MNIST)", "fmnist": "Garments (Fashion-MNIST)"}
SOURCES = {"gallery": "Gallery", "draw": "Draw", "upload": "Upload"}
NORMS = {"inf": "ℓ∞ (the paper's)", "2": "ℓ2"}
Q = "query-params"  # every control is bound to the URL, so a link reopens the exact setup


@dataclass(frozen=True)
class Lab:
    """What a data set's page runs on, loaded once per server and shared by every session (never mutated)."""
    model: torch.nn.Module
    detector: Detector
    gallery: Gallery
    atlas: Atlas
    device: torch.device


@st.cache_resource
def configure_torch() -> int:
    """Once per server: a thread count that leaves room for other sessions (vacdemo.device.serving_threads)."""
    torch.set_num_threads(serving_threads())
    return torch.get_num_threads()


@st.cache_resource(show_spinner="Loading the model …")
def load_lab(name: str) -> Lab:
    device = pick_device("auto")
    # input gradients only (frozen weights); channels_last: measured ~15 % faster PGD on the CPU
    model = load_pretrained(name).to(device, memory_format=torch.channels_last).requires_grad_(False)
    folder = PRETRAINED / name
    return Lab(model, Detector.load(folder / "detector_inf.json"), load_gallery(folder), load_atlas(folder), device)


@st.cache_data(max_entries=256, show_spinner=False)
def attack(name: str, x: np.ndarray, y: int | None, norm: str, steps: int, alpha: float | None,
           target: int | None, adaptive: bool) -> Sweep:
    """PGD at every ε of the data set's grid, in one batched call; cached by image and settings."""
    lab = load_lab(name)
    return sweep(lab.model, lab.detector, torch.from_numpy(x), y, eps_grid(name, norm), steps=steps, alpha=alpha,
                 norm=norm, target=target, adaptive=adaptive, device=lab.device)


@st.cache_data(max_entries=64, show_spinner=False)
def prepare(data: bytes, name: str) -> np.ndarray:
    return preprocess_image(data, name).numpy()


# ---------------------------------------------------------------- controls: they return plain values
def dataset_ui() -> str:
    return st.sidebar.radio("Data set", list(DATASETS), format_func=DATASETS.get, key="data", bind=Q)


def pick_random(lab: Lab) -> None:
    i = int(np.random.default_rng().integers(len(lab.gallery)))
    st.session_state.cls = int(lab.gallery.labels[i])
    st.session_state.sample = lab.gallery.of_class(int(lab.gallery.labels[i])).index(i) + 1


def input_ui(lab: Lab, name: str) -> tuple[np.ndarray | None, int | None, str]:
    """The 28×28 input (or None, with a message shown), its true class when known, and where it came from."""
    names = CLASS_NAMES[name]
    source = st.sidebar.radio("Input", list(SOURCES), format_func=SOURCES.get, key="source", horizontal=True, bind=Q)
    if source == "gallery":
        cls = st.sidebar.selectbox("Class", range(10), format_func=lambda c: names[c], key="cls", bind=Q)
        pos = lab.gallery.of_class(cls)
        sample = st.sidebar.slider("Sample", 1, len(pos), key="sample", bind=Q)
        st.sidebar.button("Random test image", icon=":material/shuffle:", on_click=pick_random, args=(lab,))
        i = pos[min(sample, len(pos)) - 1]
        return lab.gallery.image(i).numpy(), cls, f"test image #{int(lab.gallery.indices[i])} ({names[cls]})"
    if source == "draw":
        thing = "digit" if name == "mnist" else "garment"
        st.write("")  # room for the canvas's toolbar, which floats above it
        left, right = st.columns([1, 2])
        with left:  # in the main area, not the sidebar: on a phone the sidebar is folded away
            canvas = st_canvas(stroke_width=18 if name == "mnist" else 28, stroke_color="#FFFFFF",
                               background_color="#000000", height=252, width=252, drawing_mode="freedraw",
                               return_image_data=True, key=f"canvas_{name}")
        right.markdown(f"**Draw a {thing}** with the mouse or a finger, large and in the middle. The toolbar "
                       "above the canvas undoes, redoes and clears. Each stroke re-runs the attack.")
        if not (canvas.json_data or {}).get("objects"):
            right.info(f"✏️ Draw a {thing} on the canvas.")
            return None, None, "drawing"
        data, what = canvas.image_bytes, "your drawing"
        if data is None:  # the canvas has strokes but has not sent its picture yet
            right.info("✏️ One moment: the drawing is on its way.")
            return None, None, what
    else:
        up = st.sidebar.file_uploader("An image: PNG, JPEG, GIF, BMP or WebP, at most 5 MB",
                                      type=["png", "jpg", "jpeg", "gif", "bmp", "webp"],
                                      key=f"upload_{name}")
        if up is None:
            st.info("⬆️ Upload a picture of a " + ("digit" if name == "mnist" else "garment") + " in the sidebar.")
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
                              key="target", bind=Q, placeholder="choose a class")
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
            st.caption(f"⚠️ {steps} steps of {alpha or 0.01:g} move each pixel at most {reach:.3f}, less than the "
                       f"largest ε ({top:g}): larger ε then give the same result.")
    return dict(norm=norm, steps=steps, alpha=alpha, target=target, adaptive=mode == "evade the detector",
                targeted=mode == "targeted")


# ---------------------------------------------------------------- drawing: no math, only what a Sweep holds
def headline(s: Sweep, k: int, names: list[str], tau: float) -> None:
    before, after = s.pred[0], s.pred[k]
    p = s.probs[k, after]
    det = (f"the detector **flags** it (RE {s.re[k]:.2f} > τ = {tau:.2f}, score {s.score[k]:.2f})" if s.flagged[k] else
           f"the detector does **not** flag it (RE {s.re[k]:.2f} ≤ τ = {tau:.2f}, score {s.score[k]:.2f})")
    truth = f" (already wrong: it is a **{names[s.y]}**)" if s.wrong_from_start else ""
    if k == 0:
        st.info(f"ε = 0: the model says **{names[before]}** ({s.probs[0, before]:.0%}){truth}; {det}.")
    elif after != before:
        st.error(f"ε = {s.eps[k]:.3f}: fooled, **{names[before]} → {names[after]}** ({p:.0%}){truth}; {det}.")
    else:
        st.success(f"ε = {s.eps[k]:.3f}: still **{names[after]}** ({p:.0%}){truth}; {det}.")


def render_images(s: Sweep, k: int, names: list[str], norm: str) -> None:
    delta, bound = s.perturbation(k, norm)
    st.html(inline.row([(gray_png(s.x_adv[0]), f"input: {names[s.pred[0]]}"),
                        (diverging_png(delta, bound), f"perturbation x_adv − x (blue −{bound:.3f} … red +{bound:.3f})"),
                        (gray_png(s.x_adv[k]), f"adversarial: {names[s.pred[k]]}"),
                        (gray_png(s.recon[0]), "decoder's view of the input"),
                        (gray_png(s.recon[k]), "decoder's view of the adversarial")], 140))


def render_film(s: Sweep, names: list[str]) -> None:
    flip = s.flip()
    if s.wrong_from_start:
        where = f"; the model is wrong already at ε = 0 (it is a {names[s.y]})"
    elif flip is None:
        where = "; the prediction never flips on this grid"
    else:
        where = f"; the prediction flips at ε = {s.eps[flip]:.3f} (⚑)"
    st.markdown("**Film strip**: the decoder's reconstruction as ε grows" + where)
    frames = sorted({*range(0, len(s.eps), 2), *([flip] if flip is not None else [])})
    st.html(inline.row([(gray_png(s.recon[j], 3), f"{'⚑ ' if j == flip else ''}{s.eps[j]:.3f}: {names[s.pred[j]]}")
                        for j in frames], 52, caption_width=58, gap=5))


def render_overview(lab: Lab, name: str, s: Sweep) -> None:
    """Everything over the whole ε-grid: drawn once per input, not on each slider move."""
    names = CLASS_NAMES[name]
    render_film(s, names)
    flip = s.flip()
    st.plotly_chart(figures.curves(s.eps, s.probs[:, s.y], s.p_wrong, s.re, s.score,
                                   None if flip is None else s.eps[flip], names[s.y], lab.detector.threshold))
    st.plotly_chart(figures.latent_map(lab.atlas.codes.numpy(), lab.atlas.labels.numpy(), names,
                                       lab.atlas.project(s.z), s.eps, flip))


def render_downloads(s: Sweep, k: int, names: list[str], name: str) -> None:
    c1, c2, c3 = st.columns([1, 1, 3])
    stem = f"{name}_adv_eps{s.eps[k]:.3f}"
    c1.download_button("⬇ PNG (8-bit)", gray_png(s.x_adv[k], 1), f"{stem}.png", "image/png")
    c2.download_button("⬇ .npy (float32)", npy_bytes(s.x_adv[k]), f"{stem}.npy", "application/octet-stream")
    if k == 0 or s.pred[k] == s.pred[0]:
        note = "At this ε the attack does not change the prediction."
    elif s.pred_8bit[k] != s.pred[0]:
        note = f"Saved as an 8-bit PNG (pixels rounded to 1/255) it still fools the model: **{names[s.pred_8bit[k]]}**."
    else:
        note = (f"Saved as an 8-bit PNG, rounding the pixels to 1/255 undoes the attack: the model says "
                f"**{names[s.pred_8bit[k]]}** again. The .npy keeps the exact pixels.")
    c3.caption(note)


def render_panel(lab: Lab, name: str, s: Sweep, k: int, norm: str) -> None:
    """The view at one ε."""
    names = CLASS_NAMES[name]
    tau = lab.detector.threshold
    headline(s, k, names, tau)
    render_images(s, k, names, norm)
    lines = [(tau, "threshold", "black", True), (s.re[0], "clean", svg.CLEAN, False),
             (s.re[k], "attacked", svg.ADV, False)]
    st.html(inline.row([(svg.probability_bars(names, s.probs[0], s.probs[k]), ""),
                        (svg.error_histogram(*lab.atlas.re_histogram(), lines), "")], svg.WIDTH))


@st.fragment
def attack_panel(lab: Lab, name: str, s: Sweep, norm: str) -> None:
    """Moving ε reruns only this: the grid is already computed, so a move only indexes it."""
    names = CLASS_NAMES[name]
    top = float(s.eps[-1])
    c1, c2 = st.columns([5, 1])
    eps = c1.slider("ε, the attack's budget", 0.0, top, 0.0, top / (len(s.eps) - 1), format="%.3f",
                    key=f"eps_{name}_{norm}", bind=Q)
    play = c2.button("▶ Play", help="Sweep ε from 0 to the maximum")
    k = int(round(eps / top * (len(s.eps) - 1)))
    view = st.empty()
    if play:
        for j in range(len(s.eps)):
            with view.container():
                render_panel(lab, name, s, j, norm)
            time.sleep(0.15)
    with view.container():
        render_panel(lab, name, s, k, norm)
    render_downloads(s, k, names, name)


ABOUT = """
A **β-Variational Classifier** (Maggipinto, Terzi, Susto) encodes an image into a 100-number code z, and
reads the class from z with a small network while a decoder redraws the image from the same z. The paper
asks whether squeezing z (its capacity C) makes the classifier robust to **adversarial examples**: inputs
changed by at most ε per pixel so that the prediction flips. Its answers, which you can check here:

1. **Not robust.** Projected gradient descent (PGD: 40 small steps uphill on the classifier's loss, each
   kept within ε of the input) flips most predictions at small ε. Move the ε slider and watch.
2. **But detectable.** The decoder does not redraw the attacked input faithfully: its *reconstruction error*
   jumps, and a simple threshold on it (the detector) flags the attack. See the histogram.
3. **The decoder is fooled too:** as ε grows it redraws the attacked input as the *wrong* class. See the
   film strip. (The repository's `reports/reproduce.html` counts how often, with an independent classifier
   as the judge.)

Try *evade the detector*: an attacker who knows the detector keeps the reconstruction error under the
threshold while still flipping the class. And draw your own digit: does it fool the model as easily?
"""


def main() -> None:
    st.set_page_config(page_title="vacdemo: β-VAC under attack", page_icon="🛡️", layout="wide")
    st.html("<style>img {image-rendering: pixelated;}</style>")  # never let the browser blur a pixel
    st.title("β-Variational Classifiers under attack")
    configure_torch()
    with st.expander("What is this? How to read the page", expanded=False):
        st.markdown(ABOUT)
    name = dataset_ui()
    try:
        lab = load_lab(name)
    except (CheckpointError, DetectorError, ValueError) as e:
        st.error(f"The shipped model for {DATASETS[name]} could not be loaded: {e}")
        st.stop()
    x, y, what = input_ui(lab, name)
    settings = attack_ui(name, y)
    if x is None:
        return
    st.sidebar.image(gray_png(x[0], 4), caption="what the model sees (28×28)", width=112)
    if settings.pop("targeted") and settings["target"] is None:
        st.info("🎯 Choose the class to turn it into, in the sidebar.")
        return
    with st.spinner("Running PGD at every ε …"):
        s = attack(name, x, y, **settings)
    if s.target is not None and s.target == s.y:
        st.warning(f"The model already reads this as **{CLASS_NAMES[name][s.y]}**: choose another class to turn "
                   "it into.")
        return
    where = "GPU" if s.device.startswith("cuda") else f"CPU ({torch.get_num_threads()} threads)"
    st.caption(f"{what} · PGD-{settings['steps']} at {len(s.eps)} values of ε in one batch, computed in "
               f"{s.seconds * 1000:.0f} ms on {where}" +
               (" · the detector was fitted on ℓ∞ attacks" if settings["norm"] == "2" else ""))
    attack_panel(lab, name, s, settings["norm"])
    render_overview(lab, name, s)


if __name__ == "__main__":
    main()
