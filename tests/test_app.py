"""The Streamlit page through AppTest: both data sets, the attack changing the prediction, targeted mode,
uploads good and bad, and links (query parameters) that reopen a setup."""
import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from test_preprocess import BAD, VALID
from vacdemo import CLASS_NAMES
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.lab.gallery import load_gallery


def page(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params = query
    return at.run()


def messages(at: AppTest) -> list[str]:
    return [m.value for m in [*at.error, *at.info, *at.success, *at.warning]]


def headline(at: AppTest) -> str:
    """The plain-language verdict: the one message that names the current ε."""
    found = [m for m in messages(at) if "(ε = " in m]
    assert len(found) == 1, messages(at)
    return found[0]


@pytest.mark.parametrize("label", ["Digits (MNIST)", "Garments (Fashion-MNIST)"])
def test_page_runs_for_both_datasets(label):
    at = page(data=label)
    assert not at.exception  # it opens on an ε that already fools the model: the point, at once
    top = {"Digits (MNIST)": "0.150", "Garments (Fashion-MNIST)": "0.050"}[label]
    assert f"(ε = {top})" in headline(at) and "the model now says" in headline(at)
    pictures = sum(h.proto.body.count('<img src="data:image/') for h in at.get("html"))
    # 6 views, 2 charts, the film strip (every other ε: 11 frames, plus the flip's and the current ε's when they
    # fall between), 3 curves and the latent map: all inline, no plotly chart redrawn per move
    assert not at.get("plotly_chart") and 6 + 2 + 11 + 4 <= pictures <= 6 + 2 + 13 + 4


def test_max_eps_changes_the_prediction_of_a_correctly_classified_sample():
    at = page(eps_mnist_inf="0")  # MNIST, gallery, class 0, sample 1: the model gets it right
    assert "the model says **0**" in headline(at)
    at.slider(key="eps_mnist_inf").set_value(0.3).run()
    assert not at.exception
    h = headline(at)
    # the change actually made, beside the budget: PGD uses all of it at the largest ε (the morph does not stop)
    assert h.startswith("Pixels changed by at most 76 of the 76 grey levels (of 255) allowed (ε = 0.300), ℓ2 size "
                        "of the change ") and "→ the model now says **" in h
    assert "**0**" not in h and "Alarm on" in h  # fooled, and the detector sees it


def test_targeted_mode_reaches_the_chosen_class():
    at = page()
    at.radio(key="mode").set_value("targeted").run()
    assert any("Choose the class" in m for m in messages(at))
    at.selectbox(key="target_mnist").set_value(3).run()
    at.slider(key="eps_mnist_inf").set_value(0.3).run()
    assert "the model now says **3**, as the attacker wanted" in headline(at)


def png_of_test_image(label: int) -> bytes:
    """A real test image, enlarged and inverted to dark ink on white paper like a scan."""
    g = load_gallery(PRETRAINED / "mnist")
    i = g.of_class(label)[0]
    img = Image.fromarray(255 - g.images[i].numpy()).resize((140, 140), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_uploaded_png_is_preprocessed_and_classified():
    at = page(source="Upload", eps_mnist_inf="0")
    at.file_uploader[0].upload("seven.png", png_of_test_image(7), "image/png").run()
    assert not at.exception
    assert "the model says **7**" in headline(at)
    assert any(c.value.startswith("`seven.png` · PGD-40") for c in at.caption)


def test_corrupt_upload_shows_one_clear_message():
    at = page(source="Upload")
    at.file_uploader[0].upload("photo.png", b"%PDF-1.4 not really a png", "image/png").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == ["`photo.png` could not be used: this file is not an image we can read: upload a PNG, JPEG, GIF, BMP or WebP image"]


def test_query_parameters_restore_the_setup():
    at = page(data="Garments (Fashion-MNIST)", cls_fmnist="Trouser", sample_fmnist="2", eps_fmnist_inf="0.1",
              norm="ℓ∞ (the paper's)")
    assert not at.exception
    assert at.radio(key="data").value == "fmnist"
    assert at.selectbox(key="cls_fmnist").value == 1 and at.slider(key="sample_fmnist").value == 2
    assert at.slider(key="eps_fmnist_inf").value == pytest.approx(0.1)
    assert "(ε = 0.100)" in headline(at)


def test_switching_the_data_set_never_shows_the_other_sets_labels():
    at = page(cls_mnist="6")
    at.radio(key="data").set_value("fmnist").run()
    assert not at.exception
    assert at.selectbox(key="cls_fmnist").value == 0  # the garments' own default, not the digits' 6
    assert "(T-shirt/top" in [c.value for c in at.caption if "PGD-40" in c.value][0]
    at.radio(key="data").set_value("mnist").run()
    assert at.selectbox(key="cls_mnist").value == 6  # and back: the digits' choice kept


def test_draw_source_without_strokes_asks_for_a_drawing():
    at = page(source="Draw")
    assert not at.exception
    assert any("Draw a digit" in m for m in messages(at))


def test_play_moves_the_slider_and_stops_on_the_last_frame():
    at = page(eps_mnist_inf="0.15")
    at.button(key="play_eps_mnist_inf").click().run()
    assert not at.exception
    assert at.slider(key="eps_mnist_inf").value == pytest.approx(0.3)  # the slider went along
    assert "(ε = 0.300)" in headline(at)
    assert at.button(key="play_eps_mnist_inf").label == "Play"  # stopped there


@pytest.mark.parametrize("name, data, words", [case for case in BAD if case[0] != "not bytes"])
def test_every_bad_upload_gets_one_clear_message_on_the_page(name, data, words):
    at = page(source="Upload")
    at.file_uploader[0].upload("upload.png", data(), "image/png").run()
    assert not at.exception, name
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("`upload.png` could not be used: ") and words in errors[0], name


@pytest.mark.parametrize("name, data", VALID)
def test_valid_odd_uploads_are_classified_on_the_page(name, data):
    at = page(source="Upload", eps_mnist_inf="0")
    at.file_uploader[0].upload("upload.png", data(), "image/png").run()
    assert not at.exception and not at.error, name
    assert "the model says" in headline(at)


def first_misclassified_gallery_sample(name: str) -> tuple[int, int]:
    """(class, sample) of the first gallery image the shipped model gets wrong."""
    import torch
    from vacdemo import load_pretrained
    g, model = load_gallery(PRETRAINED / name), load_pretrained(name)
    with torch.no_grad():
        pred = model.classify(torch.stack([g.image(i) for i in range(len(g))])).argmax(1)
    i = next(i for i in range(len(g)) if pred[i] != g.labels[i])
    c = int(g.labels[i])
    order = sorted(g.of_class(c), key=lambda j: bool(pred[j] != g.labels[j]))  # the page lists right ones first
    return c, order.index(i) + 1


def test_a_test_image_the_model_already_gets_wrong_says_so():
    c, sample = first_misclassified_gallery_sample("fmnist")
    at = page(data="Garments (Fashion-MNIST)", cls_fmnist=CLASS_NAMES["fmnist"][c], sample_fmnist=str(sample),
              eps_fmnist_inf="0")
    assert not at.exception
    assert f"It is really a **{CLASS_NAMES['fmnist'][c]}**: the model is wrong before any attack." in headline(at)
    assert any("wrong already at ε = 0" in m.value for m in at.markdown)


def test_not_fooled_headline_says_the_model_holds():
    at = page(eps_mnist_inf="0.015", steps="1")  # one PGD step of 0.01 on a clean 0: it survives that
    h = headline(at)  # one step of 0.01 changes each pixel by at most 3 of the 4 grey levels allowed
    assert h.startswith("Pixels changed by at most 3 of the 4 grey levels (of 255) allowed (ε = 0.015), ") and \
        "and the model still says **0**" in h


def test_evading_the_detector_says_so_when_the_alarm_stays_off():
    at = page(mode="evade the detector")
    hits = []  # the first ε where the attack fooled the model with the alarm off
    for eps in [0.06 + 0.015 * i for i in range(10)]:
        at.slider(key="eps_mnist_inf").set_value(round(eps, 3)).run()
        h = headline(at)
        if "the model now says" in h and "Alarm off" in h:
            hits.append(h)
            break
    assert hits, "the detector-aware attack never got past the detector on this digit"
    assert hits[0].endswith("The attacker slipped past the detector.")


def test_projector_mode_and_reset(monkeypatch):
    monkeypatch.setenv("VACDEMO_PUBLIC_URL", "http://192.168.1.23:8501")  # a QR code whatever this machine's network
    at = page(present="1", eps_mnist_inf="0.15")
    assert not at.exception
    assert at.toggle(key="present_toggle").value is True
    html = "".join(h.proto.body for h in at.get("html"))
    assert "Join from your phone" in "".join(m.value for m in at.markdown)
    assert not at.get("download_button")  # downloads hidden
    assert 'width="260"' in html  # the QR code, 260 px
    assert 'width="560"' not in html  # the latent map (370 + 190 px wide) hidden
    [b for b in at.button if b.label == "Reset"][0].click().run()
    assert not at.exception
    assert at.toggle(key="present_toggle").value is False and at.slider(key="eps_mnist_inf").value == 0.15


def test_slow_settings_say_so_before_running(monkeypatch):
    import vacdemo.serving.lab
    monkeypatch.setattr(vacdemo.serving.lab, "_step_s", [0.02])  # a grid's PGD step as measured on a slow server
    at = page(mode="evade the detector", steps="200")
    assert not at.exception
    warned = [w.value for w in at.warning if w.value.startswith("These settings take about")]
    assert warned and "200 steps, detector-aware" in warned[0]
    assert "(ε = 0.150)" in headline(at)  # and the attack then ran


def join_text(at: AppTest) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + messages(at))


def test_projector_join_link_is_one_a_phone_can_open(monkeypatch):
    """Opened as localhost (as a teacher opens it), the join link names a LAN address (or says why there is
    none), never loopback; the setting comes first; the QR's link carries the projected setup."""
    import re
    from vacdemo.serving.address import is_loopback
    monkeypatch.delenv("VACDEMO_PUBLIC_URL", raising=False)
    at = page(present="1", eps_mnist_inf="0.15", cls_mnist="7")
    text = join_text(at)
    hosts = re.findall(r"\*\*https?://([^/:*]+)", text)
    assert (hosts and not any(is_loopback(h) for h in hosts)) or "No network address" in text, text
    monkeypatch.setenv("VACDEMO_PUBLIC_URL", "http://10.20.30.40:8500")
    at = page(present="1", eps_mnist_inf="0.15", cls_mnist="7")
    text = join_text(at)
    assert "**http://10.20.30.40:8500/**" in text
    shown = re.search(r"This view: (\S+)", text).group(1)
    assert shown.startswith("http://10.20.30.40:8500/?") and "eps_mnist_inf=0.15" in shown and "cls_mnist=7" in shown
    assert "present" not in shown
    at.button(key="join_toggle").click().run()  # the class has joined: the code folds away
    assert "Join from your phone" not in join_text(at) and at.button(key="join_toggle").label == "Show the join code"
