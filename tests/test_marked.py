"""The lab's downloads carry a marker and come back pixel for pixel; unmarked uploads are prepared as before, or
used as they are on request; bad .npy files are refused in one line (never unpickled)."""
import io
import pickle

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from vacdemo.lab.marked import read_picture
from vacdemo.lab.marker import marked_npy, marked_png, marker
from vacdemo.lab.preprocess import ImageError, preprocess_image
from vacdemo.paths import REALSET

MARK = marker("mnist", "β-VAC, pretrained/mnist", "PGD", "inf", 0.15, 7, 2, 2)


def picture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((28, 28)).astype(np.float32)


def test_png_and_npy_come_back_pixel_for_pixel_with_their_marker():
    x = picture()
    png = read_picture(marked_png(x, MARK), "mnist_adv.png", "mnist")
    assert png.how == "marked" and png.marker == MARK
    assert np.array_equal(png.x[0], np.round(x * 255) / 255)  # the PNG: 8-bit, so rounded to 1/255, nothing else
    npy = read_picture(marked_npy(x, MARK), "mnist_adv.npy", "mnist")
    assert npy.how == "marked" and npy.marker == MARK and np.array_equal(npy.x[0], x)  # the .npy: exact


def test_a_marked_picture_is_not_re_centred_where_an_unmarked_one_is():
    x = np.zeros((28, 28), np.float32)
    x[2:10, 2:6] = 1  # a stroke in the corner: preparing it like a photo would move and scale it
    buf = io.BytesIO()
    Image.fromarray((x * 255).astype(np.uint8)).save(buf, format="PNG")
    assert read_picture(marked_png(x, MARK), "a.png", "mnist").x[0][2:10, 2:6].min() == 1
    prepared = read_picture(buf.getvalue(), "a.png", "mnist")
    assert prepared.how == "prepared" and prepared.x[0][2:10, 2:6].mean() < 0.5
    as_is = read_picture(buf.getvalue(), "a.png", "mnist", as_is=True)
    assert as_is.how == "as is" and np.array_equal(as_is.x[0], x)


def test_the_realset_scans_are_read_as_before():
    files = sorted((REALSET / "mnist").rglob("*.png"))[:6]
    assert files
    for f in files:
        data = f.read_bytes()
        assert np.array_equal(read_picture(data, f.name, "mnist").x, preprocess_image(data, "mnist").numpy())


@pytest.mark.parametrize("data, name, words", [
    (marked_png(picture(), {**MARK, "dataset": "fmnist"}), "a.png", "Garments"),  # the other lab's download
    (pickle.dumps(np.zeros((28, 28))), "a.npy", "Python objects"),  # a pickle named .npy: never unpickled
    (b"\x93NUMPY\x01\x00garbage", "a.npy", "damaged"),
    (np.lib.format.magic(1, 0) + b"", "a.npy", "damaged"),
])
def test_bad_marked_or_npy_files_are_one_clear_message(data, name, words):
    with pytest.raises(ImageError, match=words):
        read_picture(data, name, "mnist")


def test_pickled_npy_is_never_loaded_and_other_shapes_are_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ImageError, match="Python objects"):
        read_picture(buf.getvalue(), "evil.npy", "mnist")
    buf = io.BytesIO()
    np.save(buf, np.zeros((32, 32), np.float32))
    with pytest.raises(ImageError, match=r"shape \(32, 32\)"):
        read_picture(buf.getvalue(), "big.npy", "mnist")
    buf = io.BytesIO()
    np.save(buf, np.full((28, 28), 3.0, np.float32))
    with pytest.raises(ImageError, match=r"in \[0, 1\]"):
        read_picture(buf.getvalue(), "bright.npy", "mnist")
    buf = io.BytesIO()
    np.save(buf, np.full((28, 28), 0.5, np.float64))  # a plain array: used as it is
    assert read_picture(buf.getvalue(), "plain.npy", "mnist").how == "as is"


def test_a_resized_marked_png_is_prepared_and_says_why():
    img = Image.open(io.BytesIO(marked_png(picture(), MARK))).resize((56, 56))
    info = PngImagePlugin.PngInfo()
    info.add_text("vacdemo", '{"dataset": "mnist"}')
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=info)
    pic = read_picture(buf.getvalue(), "big.png", "mnist")
    assert pic.how == "prepared" and "resized" in pic.note
    with pytest.raises(ImageError, match="28×28"):
        read_picture(buf.getvalue(), "big.png", "mnist", as_is=True)
