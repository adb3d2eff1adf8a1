"""The class plays together: the teacher's start and controls, the projector's live wall, a student's join and
"Send to the class". Views take the store (vacdemo.classroom, no torch) and callbacks; names are shown as text."""
from html import escape

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from vacdemo.classroom.classes import CHALLENGES, ClassError, Classroom
from vacdemo.classroom.store import StoreError
from vacdemo.classroom.wall import Wall, ordinal, wall
from vacdemo.datasets import CLASS_NAMES, DATASETS

from . import inline, svg

UNAVAILABLE = "The class wall is unavailable right now (its store cannot be reached): the lab keeps working."


def class_code() -> str | None:
    return st.query_params.get("class") or None


def teacher_key() -> str | None:
    """The teacher's key, kept in this browser tab's session only: never on the wall, in a join link or in the
    projected address bar. A link that carries it (?teacher=…) hands it over once and loses it at once."""
    code = class_code()
    given = st.query_params.get("teacher")
    if given:
        st.query_params.pop("teacher", None)
        if code:
            st.session_state[f"teacher_{code}"] = given
    return st.session_state.get(f"teacher_{code}") if code else None


def teacher_box(room: Classroom | None) -> None:
    """In the sidebar (folded on the projector): the key shown once after the start, to keep; and a field to
    give it again after a reload."""
    code = class_code()
    if not code or room is None:
        return
    with st.sidebar.expander("Teacher", icon=":material/key:", expanded=False):
        key = st.session_state.get(f"teacher_{code}")
        if key:
            st.caption("This key controls the class: keep it to yourself (it is needed again after a reload).")
            st.code(key, language=None)
        else:
            typed = st.text_input("Teacher key", type="password", key="teacher_typed")
            if typed and room.is_teacher(code, typed):
                st.session_state[f"teacher_{code}"] = typed
                st.rerun()
            elif typed:
                st.error("That is not the key to this class.")


def start_class(room: Classroom | None, name: str) -> None:
    """Projector mode without a class: a button that starts one (a code for the room, a key for the teacher)."""
    if room is None:
        st.caption(UNAVAILABLE)
        return
    if st.button("Start a class", icon=":material/groups:", key="class_start",
                 help="A code for the room: students who join post their attacks to this screen's wall"):
        try:
            code, key = room.create(name)
        except (StoreError, ClassError) as e:
            st.error(f"The class could not start: {e}")
            return
        st.session_state[f"teacher_{code}"] = key  # this tab's session only
        st.query_params["class"] = code
        st.rerun()


def histogram_svg(eps: np.ndarray, top: float, width: int = 360) -> str:
    """The flip ε of every attempt, binned from 0 to a little above the largest (within the data set's range):
    the class's attempts mostly sit far below the range's top. Drawn at 12 px, shown scaled ×1.75 on the wall."""
    if len(eps):
        top = min(top, float(np.ceil(eps.max() * 1.25 / (top / 60)) * (top / 60)))  # a multiple of range/60
    bins = 12
    counts, _ = np.histogram(eps, bins=bins, range=(0, top))
    h, left, bottom, peak = 200, 24, 36, max(1, int(counts.max()) if len(counts) else 1)
    bw = (width - left - 10) / bins
    body = [svg.text(left, 14, "smallest ε that fooled the model", weight="bold")]
    for i, n in enumerate(counts):
        bh = (h - bottom - 30) * n / peak
        body.append(svg.rect(left + i * bw + 1, h - bottom - bh, bw - 2, bh, svg.ADV))
        if n:
            body.append(svg.text(left + (i + 0.5) * bw, h - bottom - bh - 4, str(int(n)), "middle"))
    body += [svg.text(left, h - bottom + 16, "0", "middle"), svg.text(width - 12, h - bottom + 16, f"{top:g}", "end"),
             svg.text(left + (width - left) / 2, h - bottom + 16, "ε", "middle")]
    return svg.svg(width, h, body, "Distribution of the smallest ε that fooled the model")


def shown(name: str | None) -> str:
    return escape(name) if name else "anonymous"


def tiles_html(w: Wall, names: list[str], size: int) -> str:
    """The newest attempts: clean → attacked, the answers before and after, the alarm; names as inert text."""
    cells = []
    for r in w.latest:
        alarm = ('<b style="color:#D55E00">alarm</b>' if r["caught"] else
                 '<b style="color:#0072B2">no alarm</b>')
        verdict = (f"{escape(names[r['label']])} → {escape(names[r['after']])} at ε = {r['flip_eps']:.3f} · {alarm}"
                   if r["flip_eps"] is not None else f"{escape(names[r['label']])}: not fooled")
        cells.append(f'<figure style="margin:0;width:{max(2 * size + 40, 300)}px;text-align:center">'
                     f'<img src="{inline.data_uri(r["x_png"])}" width="{size}" alt="input"/> → '
                     f'<img src="{inline.data_uri(r["adv_png"])}" width="{size}" alt="attacked"/>'
                     f'<figcaption style="font-size:28px;line-height:1.25">{verdict}<br/>'
                     f'<span style="color:#555">{shown(r["shown_name"])}</span></figcaption></figure>')
    style = "display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start;image-rendering:pixelated"
    return f'<div style="{style}">{"".join(cells)}</div>'


def ranking_md(w: Wall) -> str:
    if not w.ranking:
        return "*No one has made the ranking yet.*"
    rows = [f"{i + 1}. ε = **{r['flip_eps']:.3f}**: {md_text(r['shown_name'] or 'anonymous')}"
            for i, r in enumerate(w.ranking)]
    return "\n".join(rows)


def md_text(s: str) -> str:
    """A name as plain text inside Markdown: every Markdown and HTML character escaped."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!<>|~&$:" else ch for ch in s)


def render_wall(room: Classroom | None, code: str, teacher: str | None) -> None:
    """The projector's wall, refreshed every second without a reload."""
    @st.fragment(run_every=1.0)
    def live() -> None:
        if room is None:
            st.warning(UNAVAILABLE, icon=":material/cloud_off:")
            return
        try:
            w = wall(room, code)
        except ClassError as e:
            st.warning(str(e))
            return
        except StoreError:
            st.warning(UNAVAILABLE, icon=":material/cloud_off:")
            return
        except Exception as e:  # noqa: BLE001  a database hiccup: one line, the next refresh tries again
            st.warning(f"{UNAVAILABLE} ({type(e).__name__})", icon=":material/cloud_off:")
            return
        names, top = CLASS_NAMES[w.info.dataset], DATASETS[w.info.dataset].eps_max  # the class's own data set
        st.markdown(f"## Class **{code}** · {CHALLENGES[w.info.challenge]}")
        caught = "–" if w.caught is None else f"{w.caught:.0%}"
        hardest = "–" if w.hardest is None else names[w.hardest]
        st.markdown(f"**{w.info.students}** joined · **{w.shown}** attempts · **{w.fooled}** fooled the "
                    f"model · the detector caught **{caught}** · hardest to fool: **{md_text(hardest)}**")
        left, right = st.columns([3, 2])
        left.html(tiles_html(w, names, 112))
        with right:
            st.html(inline.row([(histogram_svg(w.flip_eps, top), "")], 630))  # its 12 px text at 21 px
            st.markdown("#### Ranking\n" + ranking_md(w))
        if teacher:  # inside the live part: the attempts to hide are the wall's own, as they arrive
            teacher_controls(room, code, teacher)
    live()


def teacher_controls(room: Classroom | None, code: str, key: str) -> None:
    """With the key only: the challenge, hiding, clearing, ending, the download."""
    if room is None or not room.is_teacher(code, key):
        return
    with st.expander("Controls for the teacher", icon=":material/admin_panel_settings:"):
        info = room.info(code)
        c1, c2 = st.columns(2)
        # changed by the teacher's hand only (a callback): two teacher tabs never undo each other every second
        c1.selectbox("Challenge", list(CHALLENGES), index=list(CHALLENGES).index(info.challenge),
                     format_func=CHALLENGES.get, key="class_challenge",
                     on_change=lambda: room.set_challenge(code, key, st.session_state["class_challenge"]))
        c2.toggle("Hide every nickname", info.hide_names, key="class_hide_names",
                  on_change=lambda: room.hide_all_names(code, key, st.session_state["class_hide_names"]))
        rows = room.attempts(code, limit=30, teacher=True)
        if rows:
            labels = {r["id"]: f"#{r['id']} {r['shown_name'] or r['nickname'] or 'anonymous'}"
                      f"{' (hidden)' if r['hidden'] else ''}" for r in rows}
            pick = st.selectbox("An attempt", list(labels), format_func=labels.get, key="class_pick")
            row = next(r for r in rows if r["id"] == pick)
            b1, b2 = st.columns(2)
            if b1.button("Show it again" if row["hidden"] else "Hide it", key="class_hide_attempt"):
                room.hide_attempt(code, key, pick, not row["hidden"])
                rerun_wall()
            if b2.button("Hide this nickname", key="class_hide_name"):
                room.hide_name(code, key, row["student"])
                rerun_wall()
        b1, b2, b3 = st.columns(3)
        b1.download_button("Download the attempts (ZIP)", lambda: room.export(code, key), f"class-{code}.zip",
                           "application/zip", icon=":material/download:", key="class_download",
                           on_click="ignore")  # built when clicked, not at every refresh
        if b2.button("Clear the wall", icon=":material/delete_sweep:", key="class_clear"):
            room.clear(code, key)
            rerun_wall()
        if b3.button("End the class", icon=":material/stop_circle:", key="class_end", type="primary",
                     help="Deletes the class and everything its students posted"):
            room.end(code, key)
            st.session_state.pop(f"teacher_{code}", None)
            st.query_params.pop("class", None)
            st.rerun()


def rerun_wall() -> None:
    """Redraw the wall: only its fragment when this run is one, else the page."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def join_box(get_room, session: str) -> tuple[Classroom | None, int | None]:
    """A student in a class (?class=CODE, or typed here): the nickname; → the store (get_room() is called only
    when there is a class) and the student's id, else None."""
    code = class_code()
    with st.sidebar.expander("Class", expanded=code is not None, icon=":material/groups:"):
        typed = st.text_input("Class code", value=code or "", max_chars=12, key="class_typed",
                              placeholder="e.g. KXPRT").strip().upper()
        if typed and typed != (code or ""):
            st.query_params["class"] = typed
            code = typed
        if not code:
            return None, None
        room = get_room()
        if room is None:
            st.warning(UNAVAILABLE)
            return None, None
        nick = st.text_input("Nickname (optional)", max_chars=20, key="class_nick",
                             help="Shown on the class's wall as you typed it; your teacher can hide it")
        try:
            joined = code, nick  # join once per class and nickname, not at every rerun of the page
            if st.session_state.get("class_joined", (None,))[:2] != joined:
                st.session_state["class_joined"] = (*joined, room.join(code, session, nick or None))
            return room, st.session_state["class_joined"][2]
        except ClassError as e:
            st.error(str(e))
        except StoreError:
            st.warning(UNAVAILABLE)
        return room, None


@st.fragment
def send_box(room: Classroom | None, send, student: int | None) -> None:
    """"Send to the class" under the lab: the server finds the smallest ε that fools the model and ranks it. A
    fragment: pressing Send reruns this alone, not the whole page (thirty pages redrawn at once cost seconds)."""
    code = class_code()
    if not code or student is None or room is None:
        return
    if st.button("Send to the class", icon=":material/send:", key="class_send", type="primary",
                 help="The server finds the smallest ε at which your attack fools the model, and puts it on the wall"):
        with st.spinner("Finding the smallest ε that fools the model …"):
            try:
                posted, eps = send()
            except ClassError as e:
                st.error(str(e))
                return
            except StoreError:
                st.error("Not sent: " + UNAVAILABLE)
                return
            except Exception as e:  # noqa: BLE001  one clear line; nothing is claimed as sent
                st.error(f"Not sent: the server could not finish ({type(e).__name__}: {e}). Try again.")
                return
        if eps is None:
            st.success("Sent to the class. Your attack did not fool the model within the range: try another "
                       "picture or more steps.")
        else:
            place = f" — the {ordinal(posted.rank)} smallest ε so far" if posted.rank else ""
            st.success(f"Sent to the class: the model is fooled from ε = {eps:.3f}{place}.")
