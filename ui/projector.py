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
    """Projector sizes, read from the back of a room: text and captions 28 px, the verdict 34 px, the ε 28 px."""
    if not present:
        return
    main = "[data-testid=stMainBlockContainer]"
    st.html(f"<style>{main} {{font-size: 1.75rem}} {main} p, {main} li, {main} label {{font-size: 1.75rem}} "
            f"{main} [data-testid=stAlert] p {{font-size: 2.125rem; line-height: 1.3}} "
            f"{main} [data-testid=stSliderThumbValue], {main} [data-testid=stSliderTickBarMin], "
            f"{main} [data-testid=stSliderTickBarMax] {{font-size: 1.75rem}}</style>")


def toggle_join() -> None:
    st.session_state["join_hidden"] = not st.session_state.get("join_hidden", False)


def render_join(urls: list[str], warning: str | None, state_query: str) -> None:
    """Where students join, with a QR code of it that opens what the projector shows (state_query: the setup as
    a URL query); a second, plain link opens the start. Folds away once the class has joined."""
    hidden = st.session_state.get("join_hidden", False)
    st.button("Show the join code" if hidden else "Hide the join code", icon=":material/qr_code_2:",
              on_click=toggle_join, key="join_toggle")
    if hidden:
        return
    if not urls:
        st.markdown("### Join from your phone")
        st.warning(warning or "No address to join from.", icon=":material/wifi_off:")
        return
    import segno  # only the projector view draws a QR code
    shown = urls[0] + state_query
    buf = io.BytesIO()
    segno.make(shown, error="m").save(buf, kind="png", scale=6, border=2)
    c1, c2 = st.columns([1, 3])
    c1.html(inline.row([(buf.getvalue(), "")], 260))
    others = "".join(f"\n\nor **{u}**" for u in urls[1:])
    c2.markdown(f"### Join from your phone\nScan the code: it opens what this screen shows. Or type "
                f"**{urls[0]}**{others}")
    c2.caption(f"This view: {shown}")
