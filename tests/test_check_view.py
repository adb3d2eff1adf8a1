""""Is this picture attacked?" through AppTest: a clean test picture, an attacked one downloaded from the lab (its
marker: pixel for pixel, still fooling after PNG rounding), a garment on the digits model, a bad file; and the
lab's own upload of a marked picture."""
import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from vacdemo.lab.gallery import load_gallery
from vacdemo.lab.marker import marked_npy, marked_png, marker
from vacdemo.lab.sweep import sweep
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.models.detector import Detector

CHECK = "Is this picture attacked?"


def page(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params = query
    return at.run()


def messages(at: AppTest) -> str:
    return " | ".join(m.value for m in [*at.error, *at.info, *at.success, *at.warning])


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((a * 255).round().astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def attacked(model):
    """The gallery's first digit attacked at ε = 0.15, as the lab's PNG and .npy downloads carry it."""
    g = load_gallery(PRETRAINED / "mnist")
    s = sweep(model, Detector.load(PRETRAINED / "mnist" / "detector_inf.json"), g.image(0), int(g.labels[0]), [0, 0.15])
    m = marker("mnist", "β-VAC, pretrained/mnist", "PGD", "inf", 0.15, s.y, s.pred[1], s.pred_8bit[1])
    assert s.pred[1] != s.y
    return s, marked_png(s.x_adv[1], m), marked_npy(s.x_adv[1], m)


def test_a_clean_test_picture_passes_and_the_rates_are_stated():
    at = page(view=CHECK)
    g = load_gallery(PRETRAINED / "mnist")
    at.file_uploader[0].upload("clean.png", png(g.image(0).numpy()[0]), "image/png").run()
    assert not at.exception
    words = messages(at)
    assert "Alarm off" in words and f"reads it as **{int(g.labels[0])}**" in words
    rates = " ".join(m.value for m in at.markdown)
    assert "false alarm on" in rates and "never proves a picture is clean" in rates


def test_an_attacked_download_is_read_pixel_for_pixel_and_still_fools(attacked):
    s, png_bytes, npy_bytes = attacked
    at = page(view=CHECK)
    for name, data in (("adv.png", png_bytes), ("adv.npy", npy_bytes)):
        at.file_uploader[0].upload(name, data, "image/png").run()
        assert not at.exception
        words = messages(at)
        assert "Alarm on" in words and "came from this lab" in words and "still fools the model" in words
        assert "read pixel for pixel" in " ".join(c.value for c in at.caption)
        assert "may not be a digit" not in words  # its marker says what it is


def test_a_garment_on_the_digits_model_gets_a_clear_word():
    at = page(view=CHECK)
    shirt = load_gallery(PRETRAINED / "fmnist")
    at.file_uploader[0].upload("shirt.png", png(shirt.image(0).numpy()[0]), "image/png").run()
    assert not at.exception
    assert "may not be a digit at all" in messages(at)  # prepared, it passes the alarm as an 8: its own pixels tell


def test_a_bad_file_is_one_message():
    at = page(view=CHECK)
    at.file_uploader[0].upload("broken.png", b"\x89PNG\r\n\x1a\nnot really", "image/png").run()
    assert not at.exception
    assert len(at.error) == 1 and "could not be used" in at.error[0].value


def test_the_lab_attacks_a_marked_upload_from_its_own_pixels(attacked):
    s, png_bytes, _ = attacked
    at = page(source="Upload", eps_mnist_inf="0")
    at.file_uploader[0].upload("adv.png", png_bytes, "image/png").run()
    assert not at.exception
    words = messages(at)
    assert "came from this lab" in words and "used pixel for pixel" in words
    assert f"It is really a **{s.y}**" in words  # the class it was attacked away from, known from the marker
