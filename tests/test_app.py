"""The Streamlit page through AppTest: both data sets, the attack changing the prediction, targeted mode,
uploads good and bad, and links (query parameters) that reopen a setup."""
import io

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from test_preprocess import BAD, VALID
from vacdemo import CLASS_NAMES
from vacdemo.checkpoint import PRETRAINED
from vacdemo.gallery import load_gallery


def page(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params = query
    return at.run()


def messages(at: AppTest) -> list[str]:
    return [m.value for m in [*at.error, *at.info, *at.success, *at.warning]]


def headline(at: AppTest) -> str:
    found = [m for m in messages(at) if m.startswith("ε = ")]
    assert len(found) == 1, messages(at)
    return found[0]


@pytest.mark.parametrize("label", ["Digits (MNIST)", "Garments (Fashion-MNIST)"])
def test_page_runs_for_both_datasets(label):
    at = page(data=label)
    assert not at.exception
    assert "ε = 0: the model says" in headline(at)
    pictures = sum(h.proto.body.count('<img src="data:image/') for h in at.get("html"))
    # 5 views, 2 charts, the film strip: every other ε (11 frames), plus the flip's when it falls between
    assert len(at.get("plotly_chart")) == 2 and 5 + 2 + 11 <= pictures <= 5 + 2 + 12


def test_max_eps_changes_the_prediction_of_a_correctly_classified_sample():
    at = page()  # MNIST, gallery, class 0, sample 1: the model gets it right
    assert "the model says **0**" in headline(at)
    at.slider(key="eps_mnist_inf").set_value(0.3).run()
    assert not at.exception
    assert headline(at).startswith("ε = 0.300: fooled, **0 → ")


def test_targeted_mode_reaches_the_chosen_class():
    at = page()
    at.radio(key="mode").set_value("targeted").run()
    assert any("Choose the class" in m for m in messages(at))
    at.selectbox(key="target").set_value(3).run()
    at.slider(key="eps_mnist_inf").set_value(0.3).run()
    assert "**0 → 3**" in headline(at)


def png_of_test_image(label: int) -> bytes:
    """A real test image, enlarged and inverted to dark ink on white paper like a scan."""
    g = load_gallery(PRETRAINED / "mnist")
    i = g.of_class(label)[0]
    img = Image.fromarray(255 - g.images[i].numpy()).resize((140, 140), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_uploaded_png_is_preprocessed_and_classified():
    at = page(source="Upload")
    at.file_uploader[0].upload("seven.png", png_of_test_image(7), "image/png").run()
    assert not at.exception
    assert "the model says **7**" in headline(at)
    assert any(c.value.startswith("`seven.png` · PGD-40") for c in at.caption)


def test_corrupt_upload_shows_one_clear_message():
    at = page(source="Upload")
    at.file_uploader[0].upload("photo.png", b"%PDF-1.4 not really a png", "image/png").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == ["`photo.png` could not be used: this file is not an image we can read: upload a PNG or JPEG"]


def test_query_parameters_restore_the_setup():
    at = page(data="Garments (Fashion-MNIST)", cls="Trouser", sample="2", eps_fmnist_inf="0.1", norm="ℓ∞ (the paper's)")
    assert not at.exception
    assert at.radio(key="data").value == "fmnist"
    assert at.selectbox(key="cls").value == 1 and at.slider(key="sample").value == 2
    assert at.slider(key="eps_fmnist_inf").value == pytest.approx(0.1)
    assert headline(at).startswith("ε = 0.100")


def test_draw_source_without_strokes_asks_for_a_drawing():
    at = page(source="Draw")
    assert not at.exception
    assert any("Draw a digit" in m for m in messages(at))


def test_play_sweeps_eps_without_error_and_ends_on_the_slider_value():
    at = page(eps_mnist_inf="0.15")
    at.button[[b.label for b in at.button].index("▶ Play")].click().run()
    assert not at.exception
    assert headline(at).startswith("ε = 0.150")


@pytest.mark.parametrize("name, data, words", [case for case in BAD if case[0] != "not bytes"])
def test_every_bad_upload_gets_one_clear_message_on_the_page(name, data, words):
    at = page(source="Upload")
    at.file_uploader[0].upload("upload.png", data(), "image/png").run()
    assert not at.exception, name
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("`upload.png` could not be used: ") and words in errors[0], name


@pytest.mark.parametrize("name, data", VALID)
def test_valid_odd_uploads_are_classified_on_the_page(name, data):
    at = page(source="Upload")
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
    return c, g.of_class(c).index(i) + 1


def test_a_test_image_the_model_already_gets_wrong_says_so():
    c, sample = first_misclassified_gallery_sample("fmnist")
    at = page(data="Garments (Fashion-MNIST)", cls=CLASS_NAMES["fmnist"][c], sample=str(sample))
    assert not at.exception
    assert f"(already wrong: it is a **{CLASS_NAMES['fmnist'][c]}**)" in headline(at)
    assert any("wrong already at ε = 0" in m.value for m in at.markdown)
