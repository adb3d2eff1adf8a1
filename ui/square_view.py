"""The black-box attacker's view: Square Attack at the slider's ε, the queries it needed, the true class's
probability over the queries, and the decoder and the detector as for PGD. Draws a SquareRun; computes nothing."""
from collections.abc import Iterable

import numpy as np
import streamlit as st

from vacdemo.datasets import CLASS_NAMES
from vacdemo.lab.record import LabFacts, SquareRun
from vacdemo.serving.events import Attacking, Done, Failed, Queued

from . import inline, svg
from .lab_view import headline, render_downloads, render_images

PGD_ROW_FORWARDS = 40 * 3  # PGD-40 at one ε: 40 forward + backward passes, a backward ≈ 2 forwards


def follow(events: Iterable) -> SquareRun | None:
    """Draw where the search stands as it runs; → the finished SquareRun, or None (a message is shown)."""
    status = st.empty()
    for ev in events:
        if isinstance(ev, Queued):
            status.info(f"Queued: {ev.ahead} other attack{'s' if ev.ahead > 1 else ''} ahead of yours …",
                        icon=":material/hourglass_top:")
        elif isinstance(ev, Attacking):
            status.progress(ev.step / ev.steps, text=f"Square Attack: {ev.step:,} of at most {ev.steps:,} queries …")
        elif isinstance(ev, Failed):
            (status.warning if ev.busy else status.error)(ev.message)
            return None
        elif isinstance(ev, Done):
            status.empty()
            return ev.sweep
    return None


def query_words(run: SquareRun, names: list[str]) -> str:
    s = run.sweep
    if s.wrong_from_start:
        return f"The model misreads this picture before any attack: Square had nothing to do ({run.queries} query)."
    if run.fooled:
        return (f"Square Attack needed **{run.queries:,} queries** of its {run.budget:,} to make the model say "
                f"**{names[s.pred[1]]}**, without ever looking inside it.")
    return (f"Square Attack ran out of its **{run.budget:,} queries**: the model still says **{names[s.pred[1]]}**. "
            "A larger ε, or more queries under Advanced, may still fool it.")


def render(facts: LabFacts, name: str, run: SquareRun, present: bool) -> None:
    names, s = CLASS_NAMES[name], run.sweep
    headline(s, 1, names, facts.tau, False)
    st.markdown(query_words(run, names))
    render_images(s, 1, names, "inf", 180 if present else 120)
    lines = [(facts.tau, "limit", "black", True), (s.re[0], "clean", svg.CLEAN, False), (s.re[1], "attacked", svg.ADV, False)]
    n = len(run.p_true)  # about 200 points: the curve, not every query
    q = np.unique(np.r_[np.arange(0, n, max(1, n // 200)), run.queries - 1, n - 1])
    curve = svg.curve_panel(q + 1.0, "the right class's probability", [(run.p_true[q], f"P({names[s.y]})", svg.CLEAN)],
                            0.5, 1.0, int(np.searchsorted(q, run.queries - 1)), None, axis="queries")
    st.html(inline.row([(svg.probability_bars(names, s.probs[0], s.probs[1]), ""),
                        (svg.error_histogram(facts.re_counts, facts.re_edges, lines), ""), (curve, "")], svg.WIDTH))
    st.caption(f"Cost: {run.queries:,} forward passes of the model (one per query). PGD-40 at one ε costs about "
               f"{PGD_ROW_FORWARDS} (40 forward and backward passes), so this search cost "
               f"{run.queries / PGD_ROW_FORWARDS:.1f}× a PGD answer; its whole budget, {run.budget / PGD_ROW_FORWARDS:.0f}×. "
               "It runs in the server's shared queue after every student's first PGD answer.")
    if not present:
        render_downloads(s, 1, names, name, "Square")
