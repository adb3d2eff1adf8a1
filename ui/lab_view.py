"""The β-VAC lab at one ε: the verdict, the pictures, the charts, the film strip, the latent path, downloads.
Views only draw: they take a Sweep (numpy arrays) and the lab's facts, and never compute with a model."""
import time

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from vacdemo.datasets import CLASS_NAMES
from vacdemo.images import diverging_png, gray_png
from vacdemo.lab.grid import eps_grid
from vacdemo.lab.marker import marked_npy, marked_png, marker
from vacdemo.lab.record import LabFacts, Sweep

from . import inline, scatter, svg

Q = "query-params"  # every control is bound to the URL, so a link reopens the exact setup
SPEEDS = {"slow": 0.7, "normal": 0.35, "fast": 0.12}  # Play: seconds per ε
# The projector, read from the back of a room at 1920×1080: captions ≥ 28 px; charts (SVG drawn in <img>, text
# 12 px at their own size) scaled so that their text renders ≥ 20 px; the before/after pair half the width at least.
CAPTION_PX = 28
CHART_SCALE = 21 / 12
PAIR_PX = 490


def grey_levels(eps: float) -> int:
    """ε on [0, 1] pixels in the 0–255 grey levels a student knows from image editors."""
    return int(round(eps * 255))


def change_words(s: Sweep, k: int, norm: str) -> str:
    """How big the change actually is, in words, beside the budget ε allowed."""
    delta, _ = s.perturbation(k, norm)
    most, length = grey_levels(float(np.abs(delta).max())), float(np.sqrt((delta.astype(np.float64) ** 2).sum()))
    if norm == "inf":
        most = min(most, grey_levels(s.eps[k]))  # |δ| ≤ ε up to float rounding: never "77, allowed 76"
        return (f"Pixels changed by at most {most} of the {grey_levels(s.eps[k])} grey levels (of 255) allowed "
                f"(ε = {s.eps[k]:.3f}), ℓ2 size of the change {length:.2f}")
    return (f"The picture changed by a total length of {length:.2f} (ℓ2, allowed ε = {s.eps[k]:.3f}); its most "
            f"changed pixel by {most} of 255 grey levels")


def alarm_words(s: Sweep, k: int, tau: float) -> str:
    """The detector's verdict with as many digits as it takes to tell the error from the limit ("1.957 under
    1.962", never "1.96 under 1.96")."""
    re, d = float(s.re[k]), 2
    while d < 6 and f"{re:.{d}f}" == f"{tau:.{d}f}":
        d += 1
    if s.flagged[k]:
        return f"Alarm on: the redrawn image differs by {re:.{d}f}, above the limit {tau:.{d}f}."
    return f"Alarm off: the redrawn image differs by {re:.{d}f}, under the limit {tau:.{d}f}."


def headline(s: Sweep, k: int, names: list[str], tau: float, adaptive: bool, timing: str = "") -> None:
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
        if timing:
            st.caption(timing)


def compact_verdict(where, s: Sweep, name: str, norm: str) -> None:
    """The verdict and the attacked picture in a few lines (beside the canvas, where the student's eyes are), at
    the slider's ε as this run drew it."""
    names = CLASS_NAMES[name]
    k = current_index(s, name, norm)
    before, after = names[s.pred[0]], names[s.pred[k]]
    alarm = "alarm on" if s.flagged[k] else "alarm off"
    words = (f"The model reads **{before}**. At ε = {s.eps[k]:.3f} the attack makes it read **{after}** ({alarm})."
             if after != before else f"The model reads **{before}**, and at ε = {s.eps[k]:.3f} still does.")
    with where:
        (st.error if after != before else st.success)(words)
        st.html(inline.row([(gray_png(s.x_adv[0]), f"yours: {before}"), (gray_png(s.x_adv[k]), f"attacked: {after}")],
                           110))


def current_index(s: Sweep, name: str, norm: str) -> int:
    """The grid index the ε slider points at (its value in the session, else where the page opens)."""
    top, n = float(s.eps[-1]), len(s.eps)
    eps = st.session_state.get(f"eps_{name}_{norm}", float(s.eps[n // 2]))
    return int(round(eps / top * (n - 1)))


def render_images(s: Sweep, k: int, names: list[str], norm: str, size: int, caption_px: float | None = None) -> None:
    delta, bound = s.perturbation(k, norm)
    gain = 1 / bound if bound > 0 else 1.0
    raw = np.clip(0.5 + delta, 0, 1)  # the change at its true size, mid-grey = no change
    st.html(inline.row([(gray_png(s.x_adv[0]), f"input: {names[s.pred[0]]}"),
                        (diverging_png(delta, bound), f"the change, amplified {gain:.0f}× (blue −, red +)" if bound > 0
                         else "the change: none yet"),
                        (gray_png(raw), "the change at true size: can you see it?"),
                        (gray_png(s.x_adv[k]), f"attacked: {names[s.pred[k]]}"),
                        (gray_png(s.recon[0]), "the decoder redraws the input"),
                        (gray_png(s.recon[k]), "the decoder redraws the attacked one")], size, caption_px=caption_px))


def film_strip(s: Sweep, k: int, names: list[str], present: bool = False) -> str:
    flip = s.flip()
    frames = sorted({*range(0, len(s.eps), 2), *([flip] if flip is not None else []), k})
    items = [(gray_png(s.recon[j], 3), f"{'▶ ' if j == k else ''}{'⚑ ' if j == flip else ''}{s.eps[j]:.3f}: "
              f"{names[s.pred[j]]}") for j in frames]
    if present:
        return inline.row(items, 110, caption_width=150, gap=8, highlight=frames.index(k), caption_px=CAPTION_PX)
    return inline.row(items, 52, caption_width=58, gap=5, highlight=frames.index(k))


def render_film(s: Sweep, k: int, names: list[str], present: bool = False) -> None:
    flip = s.flip()
    if s.wrong_from_start:
        where = f"; the model is wrong already at ε = 0 (it is a {names[s.y]})"
    elif flip is None:
        where = "; the prediction never flips on this grid"
    else:
        where = f"; the prediction flips at ε = {s.eps[flip]:.3f} (⚑)"
    st.markdown("**Film strip**: the decoder's reconstruction as ε grows" + where + "; ▶ marks the current ε")
    st.html(film_strip(s, k, names, present))


def render_curves(s: Sweep, k: int, names: list[str], tau: float, present: bool = False) -> None:
    wrong = int(np.delete(np.arange(10), s.y)[np.delete(s.probs[-1], s.y).argmax()])  # the top wrong class at the end
    flip = s.flip()
    panels = [svg.curve_panel(s.eps, "classifier", [(s.probs[:, s.y], f"P({names[s.y]})", svg.CLEAN),
                                                    (s.probs[:, wrong], f"P({names[wrong]})", svg.ADV)], None, 1.0, k, flip),
              svg.curve_panel(s.eps, "reconstruction error", [(s.re, "RE", "#009E73")], tau,
                              float(max(s.re.max(), tau) * 1.1), k, flip),
              svg.curve_panel(s.eps, "detector", [(s.score, "P(adversarial)", "#CC79A7")], 0.5, 1.0, k, flip)]
    st.html(inline.row([(p, "") for p in panels], round(250 * (CHART_SCALE if present else 1))))


def latent_note(s: Sweep, names: list[str]) -> str:
    start, end = s.pred[0], s.pred[-1]
    if end == start:
        return f"The code stays among the {names[start]}s: the attack did not move it into another class."
    return f"The code walks from the {names[start]}s toward the {names[end]}s as ε grows."


@st.cache_data(show_spinner=False)
def latent_background(_facts: LabFacts, name: str) -> tuple[str, tuple]:
    """The latent map's test codes as a PNG data URI, and the map's bounds: drawn once per data set."""
    box = scatter.bounds(_facts.codes)
    return inline.data_uri(scatter.scatter_png(_facts.codes, _facts.code_labels, box, svg.WIDTH)), box


def render_latent(facts: LabFacts, name: str, s: Sweep, k: int) -> None:
    background, box = latent_background(facts, name)
    path = facts.project(s.z)
    st.html(inline.row([(svg.latent_map(background, scatter.to_pixels(box, svg.WIDTH), path, k, s.flip(),
                                        CLASS_NAMES[name], latent_note(s, CLASS_NAMES[name])), "")], svg.WIDTH + 190))


def render_downloads(s: Sweep, k: int, names: list[str], name: str, attack: str = "PGD") -> None:
    """The attacked picture at ε, as an 8-bit PNG and as exact float32 pixels (.npy), each carrying a marker (the
    data set, the model, the attack, ε, the classes): uploaded again, it is read pixel for pixel."""
    c1, c2, c3 = st.columns([1, 1, 3])
    stem = f"{name}_adv_eps{s.eps[k]:.3f}"
    mark = marker(name, f"β-VAC, pretrained/{name}", attack, s.norm, float(s.eps[k]), s.y, int(s.pred[k]),
                  int(s.pred_8bit[k]))
    c1.download_button("PNG (8-bit)", marked_png(s.x_adv[k], mark), f"{stem}.png", "image/png",
                       icon=":material/download:", key="download_png")
    c2.download_button(".npy (float32)", marked_npy(s.x_adv[k], mark), f"{stem}.npy", "application/octet-stream",
                       icon=":material/download:", key="download_npy")
    if k == 0 or s.pred[k] == s.pred[0]:
        note = "At this ε the attack does not change the prediction."
    elif s.pred_8bit[k] != s.pred[0]:
        note = f"Saved as an 8-bit PNG (pixels rounded to 1/255) it still fools the model: **{names[s.pred_8bit[k]]}**."
    else:
        note = (f"Saved as an 8-bit PNG, rounding the pixels to 1/255 undoes the attack: the model says "
                f"**{names[s.pred_8bit[k]]}** again. The .npy keeps the exact pixels.")
    c3.caption(note + " Both files carry a marker: uploaded again (Upload, or *Is this picture attacked?*), they are "
               "read pixel for pixel.")


def render_panel(facts: LabFacts, name: str, s: Sweep, k: int, norm: str, adaptive: bool, present: bool,
                 timing: str = "") -> None:
    """The view at one ε: everything that shows the current ε is drawn here, as inline HTML/SVG."""
    names = CLASS_NAMES[name]
    tau = facts.tau
    headline(s, k, names, tau, adaptive, "" if present else timing)
    if present:  # spot the difference: the pair, big (half the projector's width at least)
        st.html(inline.row([(gray_png(s.x_adv[0], 18), f"before: {names[s.pred[0]]}"),
                            (gray_png(s.x_adv[k], 18), f"after: {names[s.pred[k]]}")], PAIR_PX, gap=32,
                           caption_px=CAPTION_PX * 1.3))
    render_images(s, k, names, norm, 180 if present else 120, CAPTION_PX if present else None)
    lines = [(tau, "limit", "black", True), (s.re[0], "clean", svg.CLEAN, False), (s.re[k], "attacked", svg.ADV, False)]
    st.html(inline.row([(svg.probability_bars(names, s.probs[0], s.probs[k]), ""),
                        (svg.error_histogram(facts.re_counts, facts.re_edges, lines), "")],
                       round(svg.WIDTH * (CHART_SCALE if present else 1))))
    render_film(s, k, names, present)
    render_curves(s, k, names, tau, present)
    if not present:
        render_latent(facts, name, s, k)


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


def default_eps(name: str, norm: str) -> float:
    """Where the page opens: the middle of the grid (the paper's middle column for ℓ∞), an ε that already fools
    the model on most pictures, so that a newcomer sees the point at once."""
    grid = eps_grid(name, norm)
    return float(grid[len(grid) // 2])


def eps_slider(where, name: str, norm: str) -> int:
    """The ε slider (bound to the URL); → the grid index it points at. The same widget in the page while the
    grid fills in and in the panel after. Opens at default_eps unless the link or the session says otherwise."""
    grid = eps_grid(name, norm)
    top, n = float(grid[-1]), len(grid)
    key = f"eps_{name}_{norm}"
    if key not in st.session_state and key not in st.query_params:
        st.session_state[key] = default_eps(name, norm)
    eps = where.slider("ε, the attack's budget", 0.0, top, step=top / (n - 1), format="%.3f", key=f"eps_{name}_{norm}",
                       bind=Q, help="ℓ∞: the most any one pixel may change (1 = black to white). ℓ2: the length of "
                                    "the whole change, all pixels together." +
                                    (" An ℓ2 budget spreads: a few pixels may change a lot." if norm == "2" else ""))
    return int(round(eps / top * (n - 1)))


@st.fragment
def attack_panel(facts: LabFacts, name: str, s: Sweep, norm: str, adaptive: bool, present: bool,
                 timing: str = "") -> None:
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
    render_panel(facts, name, s, k, norm, adaptive, present, timing)
    if not present:
        render_downloads(s, k, names, name, "PGD, detector-aware" if adaptive else "PGD")
    if playing:
        if k >= n - 1:
            st.session_state[f"playing_{key}"] = False  # stop on the last frame, the slider there
        time.sleep(delay)
        rerun_panel()
