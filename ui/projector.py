"""Projector mode: big text and pictures for a class, and the address students join from, with its QR code."""
import io

import streamlit as st

from . import inline


def present_mode() -> bool:
    """?present=1 (or the toggle): the projector view."""
    return st.query_params.get("present") in ("1", "true")


def set_present() -> None:
    if st.session_state.get("present_toggle"):
        st.query_params["present"] = "1"
    else:
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
