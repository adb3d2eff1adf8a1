"""While an attack runs: the events of vacdemo.serving.sweeps.attack drawn as they come (where it stands in the
queue, its progress, the slider's verdict first), and the finished Sweep handed back."""
from collections.abc import Iterable

import streamlit as st

from vacdemo.datasets import CLASS_NAMES
from vacdemo.lab.record import Sweep
from vacdemo.serving.events import AlreadyThere, Attacking, Done, Failed, Filling, First, Queued, Slow

from .lab_view import headline, render_images


def follow(events: Iterable, name: str, tau: float, adaptive: bool, norm: str) -> Sweep | None:
    """Draw each event; → the whole grid's Sweep when it was already computed, else None (a fresh one is drawn by
    the rerun that follows it, from the cache)."""
    names = CLASS_NAMES[name]
    status = None
    fill = None
    for ev in events:
        if isinstance(ev, Slow):
            st.warning(ev.note, icon=":material/hourglass_top:")
        elif isinstance(ev, Done):
            if not ev.fresh:
                return ev.sweep
            st.rerun()  # the whole page, from the cached grid
        elif isinstance(ev, AlreadyThere):
            warn_already(names, ev.y)
            return None
        elif isinstance(ev, Failed):
            where = st if status is None else status
            if ev.busy:
                where.warning(ev.message, icon=":material/hourglass_top:")
            else:
                where.error(ev.message)
            return None
        else:
            if status is None:  # the first event of a run that waits (below the slider the attack drew)
                status = st.empty()
            if isinstance(ev, Queued):
                status.info(f"Queued: {ev.ahead} other attack{'s' if ev.ahead > 1 else ''} ahead of yours …",
                            icon=":material/hourglass_top:")
            elif isinstance(ev, Attacking):
                status.progress(ev.step / ev.steps if ev.steps else 0.0,
                                text=f"Attacking: PGD step {ev.step} of {ev.steps} …" if ev.steps else "Attacking …")
            elif isinstance(ev, First):
                status.empty()
                last = len(ev.sweep.eps) - 1
                headline(ev.sweep, last, names, tau, adaptive)
                render_images(ev.sweep, last, names, norm, 120)
                fill = st.empty()
            elif isinstance(ev, Filling):
                (fill or st.empty()).progress(
                    ev.done / ev.total, text=f"Filling in the other values of ε: {ev.done} of {ev.total} … (a "
                                             "stronger attack found at a smaller ε can still change this answer)")
    return None


def warn_already(names: list[str], y: int) -> None:
    st.warning(f"The model already reads this as **{names[y]}**: choose another class to turn it into.")
