"""The sidebar's controls: each returns plain values (the data set, the input, the attack's settings, the view),
every one bound to the URL so that a link reopens the exact setup."""
import numpy as np
import streamlit as st

from vacdemo.datasets import CLASS_NAMES, DATASETS
from vacdemo.lab.grid import eps_grid
from vacdemo.lab.record import LabFacts
from vacdemo.lab.limits import MAX_QUERIES, QUERIES

from .lab_view import Q, default_eps

SOURCES = {"gallery": "Gallery", "draw": "Draw", "upload": "Upload"}
NORMS = {"inf": "ℓ∞ (the paper's)", "2": "ℓ2"}
VIEWS = {"lab": "β-VAC lab", "compare": "Compare models", "check": "Is this picture attacked?"}
ATTACKERS = {"pgd": "PGD: sees inside the model", "square": "Square: sees only its answers"}


def chose_source() -> None:
    """Drawing happens in the page: on a phone, the sidebar then folds itself away (ui.style)."""
    if st.session_state.get("source") == "draw":
        st.session_state["fold_sidebar"] = True


def dataset_ui() -> str:
    return st.sidebar.radio("Data set", list(DATASETS), format_func=lambda k: DATASETS[k].label, key="data", bind=Q)


def pick_random(facts: LabFacts, name: str) -> None:
    i = int(np.random.default_rng().integers(len(facts.labels)))
    c = int(facts.labels[i])
    st.session_state[f"cls_{name}"] = c
    st.session_state[f"sample_{name}"] = facts.samples_of(c).index(i) + 1


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


def input_ui(facts: LabFacts, name: str, prepare) -> tuple[np.ndarray | None, int | None, str, object]:
    """The 28×28 input (or None, with a message shown), its true class when known, where it came from, and a
    place beside the canvas for the verdict (None unless drawing: on a phone it lands right under the finger).
    prepare(bytes, filename, name, as_is) → vacdemo.lab.marked.Picture turns a drawing or an upload into the
    model's input, or raises ValueError (vacdemo.ImageError) with what was wrong. A marked upload (a download from
    this lab) comes with the class its attack moved away from."""
    names = CLASS_NAMES[name]
    source = st.sidebar.radio("Input", list(SOURCES), format_func=SOURCES.get, key="source", horizontal=True, bind=Q,
                              on_change=chose_source)
    if source == "gallery":
        # keys per data set: a digit's class never shows above a garment, and a link reopens the same image
        cls = st.sidebar.selectbox("Class", range(10), format_func=lambda c: names[c], key=f"cls_{name}", bind=Q)
        pos = facts.samples_of(cls)
        sample = st.sidebar.slider("Sample", 1, len(pos), key=f"sample_{name}", bind=Q) if len(pos) > 1 else 1
        st.sidebar.button("Random test image", icon=":material/shuffle:", on_click=pick_random, args=(facts, name))
        i = pos[min(sample, len(pos)) - 1]
        wrong = "" if facts.right[i] else ", misread by the model already at ε = 0"
        if not facts.right[i]:
            st.sidebar.caption(f"Samples {len(pos) - int((~facts.right[pos]).sum()) + 1}–{len(pos)} of this "
                               "class are misread by the model even without an attack.")
        return facts.pictures[i][None], cls, f"test image #{int(facts.indices[i])} ({names[cls]}{wrong})", None
    if source == "draw":
        from streamlit_drawable_canvas import st_canvas  # registers its component: only where a page draws
        thing = DATASETS[name].thing
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
        slot = right.container()
        right.markdown(f"**Draw a {thing}** with the mouse or a finger, large and in the middle. **Undo** takes "
                       "back the last stroke, **Clear** starts again. Each stroke re-runs the attack.")
        if not (canvas.json_data or {}).get("objects"):
            right.info(f"Draw a {thing} on the canvas.", icon=":material/draw:")
            return None, None, "drawing", None
        data, what = canvas.image_bytes, "your drawing"
        if data is None:  # the canvas has strokes but has not sent its picture yet
            right.info("One moment: the drawing is on its way.", icon=":material/draw:")
            return None, None, what, None
    else:
        up = st.sidebar.file_uploader("An image (PNG, JPEG, GIF, BMP, WebP) or a .npy array, at most 5 MB",
                                      type=["png", "jpg", "jpeg", "gif", "bmp", "webp", "npy"],
                                      key=f"upload_{name}")
        as_is = st.sidebar.checkbox("Use the pixels as they are", key="as_is",
                                    help="For a 28×28 picture already made like the data set: no re-centring, no "
                                         "thickening. The lab's own downloads are always read pixel for pixel.")
        if up is None:
            st.info(f"Upload a picture of a {DATASETS[name].thing} in the sidebar.",
                    icon=":material/upload:")
            return None, None, "upload", None
        what = "`" + up.name.replace("`", "'") + "`"  # as code: not markdown
        try:
            pic = prepare(up.getvalue(), up.name, name, as_is)
        except ValueError as e:  # ImageError: the picture cannot be used
            st.error(f"{what} could not be used: {e}")
            return None, None, what, None
        if pic.marker is not None:
            m = pic.marker
            st.info(f"{what} came from this lab ({m['attack']}, ε = {m['eps']:.3f}, away from "
                    f"{names[m['label']]}): it is used pixel for pixel, and the attack starts from it as it is.",
                    icon=":material/science:")
            return pic.x, m["label"], what, None
        if pic.note:
            st.caption(f"{what}: {pic.note}")
        return pic.x, None, what, None
    try:
        return prepare(data, "drawing.png", name, False).x, None, what, slot
    except ValueError as e:  # ImageError: the picture cannot be used
        st.error(f"{what} could not be used: {e}")
        return None, None, what, None


def attack_ui(name: str, y: int | None) -> dict:
    """Norm, steps, step size, targeted or not, detector-aware or not."""
    sb = st.sidebar
    sb.subheader("Attack")
    attacker = sb.radio("Attacker", list(ATTACKERS), format_func=ATTACKERS.get, key="attacker", bind=Q,
                        help="PGD follows the model's gradients (it sees inside). Square Attack tries random squares "
                             "of change and keeps what lowers the model's confidence: it only asks for the model's "
                             "answers, as an outsider would.")
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
        queries = st.slider("Square: most queries", 100, MAX_QUERIES, QUERIES, 100, key="queries", bind=Q,
                            help="How many times Square Attack may ask the model. 1,000 queries cost about 8× a "
                                 "PGD-40 attack at one ε.") if attacker == "square" else QUERIES
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
                targeted=mode == "targeted", attacker=attacker, queries=queries)


def same_eps(name: str) -> None:
    """Switching between the lab and the comparison keeps the ℓ∞ ε where it was."""
    lab, cmp = f"eps_{name}_inf", f"cmp_eps_{name}"
    if st.session_state.get("view") == "compare" and lab in st.session_state:
        st.session_state[cmp] = st.session_state[lab]
    elif st.session_state.get("view") == "lab" and cmp in st.session_state:
        st.session_state[lab] = st.session_state[cmp]


def view_ui(name: str, has_rivals: bool, problem: str | None = None) -> str:
    """The β-VAC lab, or the comparison with the shipped rivals (offered only where they are shipped)."""
    if problem:
        st.sidebar.warning(f"The comparison's models could not be loaded: {problem}")
    views = [v for v in VIEWS if has_rivals or v != "compare"]
    if st.session_state.get("view") not in views:
        st.session_state["view"] = "lab"
    return st.sidebar.radio("View", views, format_func=VIEWS.get, key="view", bind=Q, on_change=same_eps, args=(name,),
                            help="Compare: the same input and attack on the β-VAC, a plain CNN and an "
                                 "adversarially trained CNN, side by side. Is this picture attacked?: any picture "
                                 "to the detector alone, no attack.")


# Every control bound to the URL, and its default: Reset sets these (bound parameters cannot simply be cleared).
DEFAULTS = {"data": "mnist", "view": "lab", "source": "gallery", "norm": "inf", "mode": "untargeted", "steps": 40,
            "auto_alpha": True, "alpha": 0.01, "present_toggle": False, "attacker": "pgd", "queries": QUERIES,
            "as_is": False}
DEFAULT_PREFIXES = {"cls_": 0, "sample_": 1, "target_": None}


def default_of(key: str):
    """The default of a control bound to the URL, by its key; None: not one of them."""
    if key in DEFAULTS:
        return DEFAULTS[key]
    if key.startswith("eps_"):  # eps_<data set>_<norm>
        name, norm = key.removeprefix("eps_").rsplit("_", 1)
        return default_eps(name, norm)
    if key.startswith("cmp_eps_"):
        return default_eps(key.removeprefix("cmp_eps_"), "inf")
    return next((v for p, v in DEFAULT_PREFIXES.items() if key.startswith(p)), None)


def reset() -> None:
    """Back to the default setup: every control (and so the URL), and any Play or drawing in progress."""
    for k in list(st.session_state):
        if k in DEFAULTS or k.startswith(("eps_", "cmp_eps_", *DEFAULT_PREFIXES)):
            st.session_state[k] = default_of(k)
        elif k.startswith(("playing_", "restart_", "canvas_start_", "canvas_version_")):
            del st.session_state[k]
    st.query_params.pop("present", None)
