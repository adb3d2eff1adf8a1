"""The lesson: seven steps that walk a class through the lab, each a short text, the lab set up for it, one thing
to try and one question to discuss. The step is part of the URL (?lesson=N), beside the lab's own settings, so a
step is a link and the projector's QR code opens the step the teacher shows."""
from dataclasses import dataclass, field

import streamlit as st

from vacdemo.datasets import DATASETS

PARAM = "lesson"


@dataclass(frozen=True)
class Step:
    title: str
    text: str  # what this step is about, in plain words ({thing}: a digit or a garment)
    try_: str  # one thing to do on the page
    discuss: str  # one question for the class
    setup: dict = field(default_factory=dict)  # the lab's controls for this step (session-state keys → values)
    needs_rivals: bool = False  # the step shows the shipped rival models


GALLERY = {"source": "gallery", "mode": "untargeted", "attacker": "pgd", "view": "lab", "norm": "inf"}
STEPS = [
    Step("What the model sees",
         "The model reads a tiny picture: 28 × 28 grey pixels, 784 numbers. It was trained on 60,000 pictures like "
         "the ones in the gallery, and it answers with a class and how sure it is.",
         "Draw a {thing} on the canvas, big and in the middle. What does the model read? Try a sloppy one.",
         "Which drawings does it get wrong? Are they the ones a person would get wrong?",
         {**GALLERY, "source": "draw"}),
    Step("A change you cannot see fools it",
         "An attacker changes every pixel a little, at most ε, in the direction that most lowers the model's "
         "confidence, 40 small steps in a row (PGD). The picture looks the same to us.",
         "Move the ε slider from 0 up. At which ε does the answer change? Look at *the change at true size*.",
         "Why would a change you cannot see change the answer of a network that reads pictures so well?",
         dict(GALLERY)),
    Step("What the decoder draws",
         "The β-VAC squeezes the picture into a code of 100 numbers, reads the class from the code, and a second "
         "network, the decoder, redraws the picture from the same code.",
         "Press **Play** and watch the film strip: what does the decoder draw as ε grows?",
         "The attack only aimed at the class. Why does the decoder's drawing change too?",
         dict(GALLERY)),
    Step("The alarm",
         "Real pictures are redrawn well; attacked ones less so. The distance between a picture and its redrawing "
         "is the reconstruction error, and an alarm goes off above a limit learnt from examples.",
         "Find the histogram: where does the attacked picture's error land among the clean pictures'? Does the "
         "alarm go off at every ε?",
         "An alarm that never goes off on real pictures, and one that catches every attack: can one limit do both?",
         dict(GALLERY)),
    Step("An attacker who knows about the alarm",
         "This attacker changes the class *and* keeps the reconstruction error under the limit at the same time.",
         "Move ε again. Does the model still fall? Does the alarm stay off?",
         "If the attacker knows how you defend, is the defence still worth anything?",
         {**GALLERY, "mode": "evade the detector"}),
    Step("An attacker who sees only the answers",
         "Square Attack never looks inside the model: it tries random squares of change and keeps those that lower "
         "the model's confidence, asking the model up to 1,000 times.",
         "How many questions did the attack need? Watch the curve of the right class's probability fall.",
         "An app that only shows its answers to the world: is it safe from attacks?",
         {**GALLERY, "attacker": "square"}),
    Step("A model trained to resist",
         "A network can be trained on attacked pictures (adversarial training). Here it stands beside the β-VAC "
         "and a plain network, under the same attack.",
         "Move ε: which model holds on longest? What does the resistant one get wrong on clean pictures?",
         "Resistance costs something. What, and would you pay it for a bank's cheque reader?",
         {**GALLERY, "view": "compare"}, needs_rivals=True),
]


OFF = "off"  # left: Streamlit 1.67 keeps a deleted parameter in the address bar beside bound widgets, so the
# lesson is left by setting it to "off", not by deleting it (a reload then stays out of the lesson)


def current() -> int | None:
    """The step in the URL (1 … len(STEPS)), or None outside the lesson (a bad value: the first step)."""
    raw = st.query_params.get(PARAM)
    if raw is None or raw == OFF:
        return None
    try:
        return min(max(int(raw), 1), len(STEPS))
    except ValueError:
        return 1


def apply(step: int, only_missing: bool = False) -> None:
    """Set the lab up for a step. only_missing: leave the controls a link names (it opens what the teacher shows)."""
    for key, value in STEPS[step - 1].setup.items():
        if not (only_missing and key in st.query_params):
            st.session_state[key] = value
    st.session_state["lesson_applied"] = step
    st.query_params[PARAM] = str(step)


def go(step: int | None) -> None:
    """Next, Back, Leave: the step to open (None: leave the lesson, the lab stays as it is), opened by start() in
    the run that follows (a query parameter set in a callback reaches the address bar one run late)."""
    st.session_state["lesson_goto"] = OFF if step is None else step


def start() -> None:
    """Runs before the controls are drawn. A step asked for by a button: its setup, and the address. A step opened
    by a link (or a reload) that this session has not set up yet: its setup, the link's own controls kept."""
    if "lesson_goto" in st.session_state:
        goto = st.session_state.pop("lesson_goto")
        if goto == OFF:
            st.query_params[PARAM] = OFF
            st.session_state.pop("lesson_applied", None)
        else:
            apply(goto)
        return
    step = current()
    if step is not None and st.session_state.get("lesson_applied") != step:
        apply(step, only_missing=True)


def render(name: str, has_rivals: bool) -> None:
    """The step's card at the top of the page: where we are, the text, what to try, what to discuss, Back/Next."""
    step = current()
    if step is None:
        st.button("Take the lesson: 7 steps", icon=":material/school:", key="lesson_start", on_click=go, args=(1,),
                  help="A guided tour of the lab in seven steps, for a class or on your own")
        return
    s, thing = STEPS[step - 1], DATASETS[name].thing
    with st.container(border=True, key="lesson_card"):
        st.progress(step / len(STEPS), text=f"Lesson, step {step} of {len(STEPS)}")
        st.subheader(s.title)
        st.markdown(s.text.format(thing=thing))
        if s.needs_rivals and not has_rivals:
            st.warning(f"This step needs the adversarially trained model, which is not shipped for "
                       f"{DATASETS[name].label}: switch the data set in the sidebar.", icon=":material/info:")
        st.markdown(f":material/touch_app: **Try:** {s.try_.format(thing=thing)}")
        st.markdown(f":material/forum: **Discuss:** {s.discuss.format(thing=thing)}")
        back, nxt, leave = st.columns([1, 1, 1])
        back.button("Back", icon=":material/arrow_back:", key="lesson_back", on_click=go, args=(step - 1,),
                    disabled=step == 1, width="stretch")
        if step < len(STEPS):
            nxt.button("Next", icon=":material/arrow_forward:", key="lesson_next", on_click=go, args=(step + 1,),
                       type="primary", width="stretch")
        else:
            nxt.button("Finish", icon=":material/done_all:", key="lesson_finish", on_click=go, args=(None,),
                       type="primary", width="stretch")
        leave.button("Leave", icon=":material/close:", key="lesson_leave", on_click=go, args=(None,),
                     width="stretch")
