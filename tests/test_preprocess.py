"""preprocess_image: pictures → MNIST-/Fashion-MNIST-style 28×28 inputs, and a clear error for everything else.
The corpus of bad files is generated here, so each case is explicit."""
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vacdemo.lab.preprocess import MAX_BYTES, ImageError, preprocess_image


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def stroke_image(size=(300, 200), box=(30, 20, 60, 90), ink=0, paper=255, mode="L") -> Image.Image:
    """A dark 'digit' (a thick stroke and a bar) small and off-centre on light paper."""
    img = Image.new(mode, size, paper)
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    d.line([(x0, y0), (x1, y1)], fill=ink, width=7)
    d.line([(x0, y1), (x1, y1)], fill=ink, width=7)
    return img


def bbox(a: np.ndarray, level=0.05):
    r, c = np.nonzero(a > level)
    return r.min(), r.max(), c.min(), c.max()


def centre_of_mass(a: np.ndarray):
    ys, xs = np.indices(a.shape)
    return (a * ys).sum() / a.sum(), (a * xs).sum() / a.sum()


def test_small_off_centre_digit_is_fitted_to_20px_and_centred_by_mass():
    x = preprocess_image(encode(stroke_image()), "mnist")
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    a = x[0].numpy()
    assert 0 <= a.min() and a.max() <= 1 and a.max() > 0.9  # light paper inverted: white ink on black
    r0, r1, c0, c1 = bbox(a)
    assert max(r1 - r0 + 1, c1 - c0 + 1) in (20, 21)  # longest side fitted to 20 px (±1 for antialiasing)
    cy, cx = centre_of_mass(a)
    assert abs(cy - 13.5) < 1 and abs(cx - 13.5) < 1
    assert a[:2].max() < 0.05 and a[:, :2].max() < 0.05  # a border of background, as in MNIST


def test_dark_background_is_not_inverted_and_light_one_is():
    dark = preprocess_image(encode(stroke_image(ink=255, paper=0)), "mnist")
    light = preprocess_image(encode(stroke_image()), "mnist")
    assert np.abs(dark.numpy() - light.numpy()).max() < 0.02


def test_garment_longest_side_is_28_and_centred():
    img = Image.new("L", (400, 400), 255)
    ImageDraw.Draw(img).rectangle((50, 120, 150, 170), fill=40)  # a wide dark shape, off-centre
    a = preprocess_image(encode(img), "fmnist")[0].numpy()
    r0, r1, c0, c1 = bbox(a)
    assert (c0, c1) == (0, 27)  # width fitted to 28
    assert abs((r0 + r1) / 2 - 13.5) <= 1  # centred vertically


def test_rgba_with_transparent_background():
    img = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(60, 10), (60, 110)], fill=(0, 0, 0, 255), width=12)  # black ink, see-through paper
    a = preprocess_image(encode(img), "mnist")[0].numpy()
    r0, r1, c0, c1 = bbox(a)
    assert r1 - r0 + 1 in (20, 21) and a.max() > 0.9


def test_exif_rotation_is_respected():
    base = stroke_image(size=(200, 200), box=(20, 20, 60, 180))  # tall stroke, bar at the bottom
    plain = preprocess_image(encode(base, "JPEG", quality=95), "mnist")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the stored pixels are turned back
    turned = base.transpose(Image.Transpose.ROTATE_90)
    rotated = preprocess_image(encode(turned, "JPEG", quality=95, exif=exif.tobytes()), "mnist")
    assert np.abs(plain.numpy() - rotated.numpy()).mean() < 0.03


VALID = [
    ("16-bit PNG", lambda: encode(Image.fromarray((np.asarray(stroke_image(), dtype=np.uint16) * 257)))),
    ("CMYK JPEG", lambda: encode(stroke_image().convert("CMYK"), "JPEG")),
    ("animated GIF", lambda: encode(stroke_image().convert("P"), "GIF", save_all=True,
                                    append_images=[Image.new("P", (300, 200), 0)], duration=100)),
    ("palette PNG", lambda: encode(stroke_image().convert("P"))),
    ("RGB JPEG", lambda: encode(stroke_image().convert("RGB"), "JPEG")),
]


@pytest.mark.parametrize("name, data", VALID)
def test_valid_odd_formats_give_the_same_digit(name, data):
    reference = preprocess_image(encode(stroke_image()), "mnist").numpy()
    x = preprocess_image(data(), "mnist").numpy()
    assert np.abs(x - reference).mean() < 0.03, name


def half(data: bytes) -> bytes:
    """The header intact, the pixels cut off halfway: a download that stopped."""
    return data[:len(data) // 2]


def bomb_png(w: int, h: int) -> bytes:
    """A valid-looking PNG whose header declares w×h pixels (the decompression-bomb shape)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


BAD = [
    ("0-byte file", lambda: b"", "empty"),
    ("text named .png", lambda: b"just some text, not an image\n" * 10, "not an image"),
    ("PDF named .png", lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "not an image"),
    ("truncated PNG", lambda: half(encode(stroke_image())), "truncated or corrupt"),
    ("truncated JPEG", lambda: half(encode(stroke_image().convert("RGB"), "JPEG")), "truncated or corrupt"),
    ("bomb 30000×30000", lambda: bomb_png(30000, 30000), "too large"),
    ("8000×8000 declared", lambda: bomb_png(8000, 8000), "limit"),
    ("over 5 MB", lambda: b"\x89PNG" + b"\0" * (MAX_BYTES + 1), "limit is 5 MB"),
    ("1×1 image", lambda: encode(Image.new("L", (1, 1), 0)), "blank"),
    ("all white", lambda: encode(Image.new("L", (64, 64), 255)), "blank"),
    ("all black", lambda: encode(Image.new("RGB", (64, 64), (0, 0, 0))), "blank"),
    ("not bytes", lambda: "a string", "expected the file's bytes"),
]


@pytest.mark.parametrize("name, data, words", BAD)
@pytest.mark.parametrize("dataset", ["mnist", "fmnist"])
def test_bad_inputs_raise_one_clear_error(name, data, words, dataset):
    with pytest.raises(ImageError, match=words) as e:
        preprocess_image(data(), dataset)
    assert isinstance(e.value, ValueError) and "\n" not in str(e.value), name


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="dataset must be one of"):
        preprocess_image(encode(stroke_image()), "cifar")
