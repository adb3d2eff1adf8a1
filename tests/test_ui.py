"""The page's colours stay apart for colour-blind students and on a washed-out projector: each pair that must be
told apart is checked under simulated protanopia, deuteranopia and tritanopia (Machado, Oliveira and Fernandes,
2009, severity 1), and with the contrast halved toward white."""
import itertools

import numpy as np
import pytest

from ui import svg

# Machado et al. (2009), severity 1.0, on linear RGB
CVD = {"protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
       "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
       "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]}


def linear(hex_colour: str) -> np.ndarray:
    c = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def lab(rgb_linear: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of a linear-RGB colour."""
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb_linear
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(hex_colour: str, vision: str, washed: bool) -> np.ndarray:
    c = linear(hex_colour)
    c = np.clip(np.array(CVD[vision]) @ c, 0, 1) if vision != "normal" else c
    return lab(0.5 + 0.5 * c if washed else c)  # a washed-out projector: half-way to white


PAIRS = [("clean vs attacked", svg.CLEAN, svg.ADV)]
SAME_SHAPE = [(a, b) for a, b in itertools.combinations(range(10), 2) if svg.CLASS_SHAPES[a] == svg.CLASS_SHAPES[b]]


@pytest.mark.parametrize("vision", ["normal", *CVD])
@pytest.mark.parametrize("washed", [False, True])
def test_pairs_that_must_differ_stay_apart(vision, washed):
    for what, a, b in PAIRS:
        assert np.linalg.norm(seen(a, vision, washed) - seen(b, vision, washed)) > 15, (what, vision, washed)
    for a, b in SAME_SHAPE:  # classes drawn with the same marker shape are told apart by colour alone
        d = np.linalg.norm(seen(svg.CLASS_COLOURS[a], vision, washed) - seen(svg.CLASS_COLOURS[b], vision, washed))
        assert d > 10, (a, b, vision, washed, round(float(d), 1))
