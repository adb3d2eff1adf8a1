"""The lesson through AppTest: every step opens with the lab set up as it says (the step is a link), Next and Back
walk the steps, a link's own controls win over the step's, and both data sets work."""
import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from ui.lesson import STEPS


def page(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params = query
    return at.run()


def state(at: AppTest) -> dict:
    return {r.key: r.value for r in at.radio if r.key in ("source", "mode", "attacker", "view", "norm")}


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " ".join(m.value for m in [*at.error, *at.info, *at.success])


@pytest.mark.parametrize("step", range(1, len(STEPS) + 1))
def test_each_step_opens_with_the_state_it_describes(step):
    at = page(lesson=str(step))
    assert not at.exception
    s = STEPS[step - 1]
    assert s.title in [h.value for h in at.subheader]
    assert state(at) == {k: v for k, v in {**s.setup, "norm": "inf"}.items()
                         if k in ("source", "mode", "attacker", "view", "norm")}
    words = text(at)
    if step == 1:
        assert "Draw a digit on the canvas" in words
    elif step == 6:
        assert "queries" in words  # the black-box attacker ran and says how many questions it asked
    elif step == 7:
        assert at.get("slider") and "adversarially trained" in words
    else:
        assert "(ε = " in words  # the lab's verdict at the slider's ε


def test_next_and_back_walk_the_steps_and_finish_leaves():
    at = page(lesson="1")
    at.button(key="lesson_next").click().run()
    assert at.query_params["lesson"] == ["2"] or at.query_params["lesson"] == "2"
    assert state(at)["source"] == "gallery"
    at.button(key="lesson_back").click().run()
    assert state(at)["source"] == "draw" and not at.exception
    at = page(lesson="7")
    at.button(key="lesson_finish").click().run()
    assert at.query_params.get("lesson") in (["off"], "off") and not at.exception
    assert at.button(key="lesson_start")  # the way back in


def test_a_link_keeps_its_own_controls_and_fashion_mnist_works():
    at = page(lesson="2", data="Garments (Fashion-MNIST)", eps_fmnist_inf="0.1", cls_fmnist="3")
    assert not at.exception and state(at)["source"] == "gallery"
    assert "(ε = 0.100)" in text(at)
    at = page(lesson="6", data="Garments (Fashion-MNIST)")
    assert not at.exception and "queries" in text(at)


@pytest.mark.parametrize("bad", ["0", "99", "x"])
def test_a_bad_step_in_a_link_opens_a_real_step(bad):
    at = page(lesson=bad)
    assert not at.exception and any(h.value in {s.title for s in STEPS} for h in at.subheader)
