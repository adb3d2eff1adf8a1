"""vacdemo's lab: pick, draw or upload an input, move ε, and watch PGD fool a β-VAC while its decoder and
its reconstruction-error detector look on. The page's table of contents: the sidebar's controls (ui.controls)
→ the package's cached answers (vacdemo.serving) → a view that draws them (ui.lab_view, ui.compare_view)."""
import os
import uuid

import numpy as np
import streamlit as st
import torch

from ui import check_view, classroom, compare_view, controls, lab_view, lesson, projector, square_view, style, texts, waiting
from vacdemo import CheckpointError, DetectorError
from vacdemo.classroom.classes import Classroom
from vacdemo.serving.send import send
from vacdemo.classroom.store import StoreError
from vacdemo.datasets import DATASETS
from vacdemo.images import gray_png
from vacdemo.lab.grid import eps_grid
from vacdemo.lab.marked import Picture, read_picture
from vacdemo.serving import blackbox, sweeps
from vacdemo.serving.address import join, with_state
from vacdemo.serving.lab import (check_picture, comparison, compare_card, configure_torch, detector_rates, lab_facts,
                                 load_lab, load_rivals)

REPORT_URL = "app/static/reproduce.html"  # the reproduction report, served by Streamlit from static/


@st.cache_data(max_entries=64, show_spinner=False)
def prepare(data: bytes, filename: str, name: str, as_is: bool) -> Picture:
    """A drawing or an upload as the model's (1, 28, 28) input, and how it was read (a lab download's marker:
    pixel for pixel); raises ImageError with what was wrong."""
    return read_picture(data, filename, name, as_is)


@st.cache_data(max_entries=64, show_spinner=False)
def check_cached(name: str, x: np.ndarray):
    """The model's reading of one picture and the detector's verdict (vacdemo.serving.lab.check_picture)."""
    return check_picture(name, x)


@st.cache_data(max_entries=32, show_spinner="Attacking every model …")
def compare_cached(name: str, x: np.ndarray, y: int | None, steps: int, alpha: float | None):
    """The comparison's grids of one input (vacdemo.serving.lab.comparison), cached for every session."""
    return comparison(name, x, y, steps, alpha)


@st.cache_resource(show_spinner=False)
def _store() -> Classroom:
    return Classroom()  # SQLite under runs/classroom, or $VACDEMO_DATABASE_URL; raises StoreError (not cached)


def store() -> Classroom | None:
    """The class store shared by every session, or None when it cannot be reached (the lab works without it)."""
    try:
        return _store()
    except StoreError:
        return None


def session_id() -> str:
    """Who waits for an attack: one id per browser tab, kept in its session state."""
    return st.session_state.setdefault("attack_owner", uuid.uuid4().hex)


def rivals_ui(name: str) -> tuple[str, bool]:
    """The view, offering the comparison where its models are shipped; and whether they are."""
    try:
        has = bool(load_rivals(name))
        return controls.view_ui(name, has), has
    except (CheckpointError, ValueError) as e:
        return controls.view_ui(name, False, str(e)), False


def compare(facts, name: str, x: np.ndarray, y: int | None, settings: dict, present: bool) -> None:
    compare_view.note_attack(settings)
    try:
        compared = compare_cached(name, x, y, settings["steps"], settings["alpha"])
    except Exception as e:  # noqa: BLE001  one clear line, never a traceback
        st.error(f"The comparison could not run ({type(e).__name__}: {e}). Pick the input again to retry.")
        return
    compare_view.render_compare(facts, name, x, settings, present, compared, compare_card(name))


def black_box(facts, name: str, x: np.ndarray, y: int | None, settings: dict, present: bool) -> None:
    """Square Attack at the slider's ε: ℓ∞, untargeted or targeted (it has no detector-aware form)."""
    if settings["norm"] != "inf" or settings["adaptive"]:
        st.info("Square Attack here is the ℓ∞, untargeted or targeted one: choose ℓ∞ and another goal in the "
                "sidebar.", icon=":material/info:")
        return
    k = lab_view.eps_slider(st.columns([3, 2])[0], name, "inf")
    eps = float(eps_grid(name, "inf")[k])
    if k == 0:
        st.info("At ε = 0 nothing may change: move the slider up.", icon=":material/info:")
        return
    run = square_view.follow(blackbox.square_attack(name, x, y, eps=eps, queries=settings["queries"],
                                                    target=settings["target"], owner=session_id()))
    if run is not None:
        square_view.render(facts, name, run, present)


def timing(what: str, s, settings: dict) -> str:
    """How the answer was computed, for *Exact figures*: the input, the attack, the time it took and where."""
    threads = torch.get_num_threads()
    where = "GPU" if s.device.startswith("cuda") else f"CPU ({threads} thread{'s' if threads > 1 else ''})"
    return (f"{what} · PGD-{settings['steps']} at {len(s.eps)} values of ε, the slider's first; the whole grid took "
            f"{s.seconds * 1000:.0f} ms on {where}, waiting in the queue included (attacks that wait at the same "
            "moment run as one batch)" + (" · the detector was fitted on ℓ∞ attacks" if settings["norm"] == "2" else ""))


def join_ui(box) -> None:
    """The projector's join link, drawn last (into `box`, at the top) so that it carries the whole setup."""
    listening = os.environ.get("VACDEMO_LISTEN") or st.get_option("server.address")  # replicas: nginx's host
    j = join(st.context.url, listening)
    with box:
        projector.render_join(j.urls, j.warning, with_state("", st.query_params.to_dict()))


def main() -> None:
    present = projector.present_mode()
    boxes = []  # the place of the join link, kept by the page for the end of the run
    try:
        lab_page(present, boxes)
    finally:
        if present and boxes:
            join_ui(boxes[0])


def lab_page(present: bool, boxes: list) -> None:
    st.set_page_config(page_title="vacdemo: β-VAC under attack", page_icon="🛡️", layout="wide",
                       initial_sidebar_state="collapsed" if present else "auto")
    style.page_style()
    projector.render_presenter(present)
    st.title("β-Variational Classifiers under attack")
    st.markdown(texts.SUBTITLE)
    configure_torch()
    if not present:
        with st.expander("What is this? How to read the page", expanded=False, icon=":material/help:"):
            st.markdown(texts.ABOUT.format(report=REPORT_URL))
            st.markdown("**Words on this page**\n" + texts.GLOSSARY)
        style.phone_only(texts.PHONE_HINT.replace("**»**", "<b>»</b>"))
    st.sidebar.toggle("Projector mode", value=present, key="present_toggle", on_change=projector.set_present,
                      help="Big text and pictures for a class; the address and a QR code to join.")
    st.sidebar.button("Reset", icon=":material/restart_alt:", on_click=controls.reset, key="reset",
                      help="Back to the default setup")
    lesson.start()  # a link to a lesson step sets the lab up before the controls are drawn
    name = controls.dataset_ui()
    try:
        load_lab(name)
        facts = lab_facts(name)
    except (CheckpointError, DetectorError, ValueError) as e:
        st.error(f"The shipped model for {DATASETS[name].label} could not be loaded: {e}")
        st.stop()
    room, student = (store() if present else None), None
    if present:
        boxes.append(st.container())
        if classroom.class_code():
            key = classroom.teacher_key()
            classroom.teacher_box(room)
            classroom.render_wall(room, classroom.class_code(), key)
        else:
            classroom.start_class(room, name)
    if not present:
        room, student = classroom.join_box(store, session_id())
    view, has_rivals = rivals_ui(name)
    lesson.render(name, has_rivals)
    if view == "check":
        check_view.page(facts, name, lambda data, filename, as_is: prepare(data, filename, name, as_is),
                        lambda x: check_cached(name, x), detector_rates(name))
        return
    x, y, what, beside = controls.input_ui(facts, name, prepare)
    style.fold_sidebar_on_phones()
    settings = controls.attack_ui(name, y)
    black = {k: settings.pop(k) for k in ("attacker", "queries")}
    if x is None:
        return
    st.sidebar.image(gray_png(x[0], 4), caption="what the model sees (28×28)", width=112)
    if settings.pop("targeted") and settings["target"] is None:
        st.info("Choose the class to turn it into, in the sidebar.", icon=":material/target:")
        return
    if view == "compare":
        compare(facts, name, x, y, settings, present)
        return
    if black["attacker"] == "square":
        black_box(facts, name, x, y, {**settings, **black}, present)
        return
    events = sweeps.attack(name, x, y, **settings, owner=session_id(),
                           first=lambda: lab_view.eps_slider(st.columns([3, 2])[0], name, settings["norm"]))
    s = waiting.follow(events, name, facts.tau, settings["adaptive"], settings["norm"])
    if s is None:
        return
    if s.target is not None and s.target == s.y:
        waiting.warn_already(list(DATASETS[name].classes), s.y)
        return
    lab_view.attack_panel(facts, name, s, settings["norm"], settings["adaptive"], present, timing(what, s, settings))
    if beside is not None:  # a drawing: the verdict beside the canvas too, where the student's eyes are
        lab_view.compact_verdict(beside, s, name, settings["norm"])
    classroom.send_box(room, lambda: send(room, classroom.class_code(), student, name, x, y, **settings,
                                          owner=session_id()), student)


if __name__ == "__main__":
    main()
