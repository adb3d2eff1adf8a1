"""The real-picture set: it loads through preprocess_image, and the shipped MNIST model reads it as the model
card records (within a point)."""
import re

import pytest

from vacdemo import load_pretrained
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.lab.realset import load_realset, realset_accuracy

KINDS = {"font-sans", "font-serif", "font-italic", "font-script", "strokes-canvas", "ink-photo", "scan-lowres",
         "pen-sans", "pen-serif", "pen-italic", "pen-script", "pen-styled"}  # pen-*: single-line strokes (issue 30)


def test_the_set_loads_every_kind_with_all_ten_digits():
    found = load_realset("mnist")
    assert set(found) == KINDS
    for kind, (x, y) in found.items():
        assert x.shape[1:] == (1, 28, 28) and 0 <= x.min() and x.max() <= 1, kind
        assert set(y.tolist()) == set(range(10)), kind


def test_the_garment_set_loads_all_ten_classes():
    found = load_realset("fmnist")
    assert set(found) == {"render", "photo", "render-b", "photo-b"}
    for kind, (x, y) in found.items():
        assert x.shape[1:] == (1, 28, 28) and set(y.tolist()) == set(range(10)), kind


def card_figures() -> dict[str, float]:
    """The real-picture rows of the model card's MNIST section: kind → accuracy."""
    card = (PRETRAINED / "README.md").read_text().split("### `fmnist`")[0]
    return {m[1]: float(m[2]) / 100 for m in re.finditer(r"^\| (\S+) \| (\d+\.\d)\s*% \| \d+ / \d+ \|", card, re.M)}


def test_the_shipped_model_reads_it_as_the_card_says():
    recorded = card_figures()
    assert KINDS | {"all"} <= set(recorded), recorded
    measured = realset_accuracy(load_pretrained("mnist"), "mnist")
    for kind, row in measured.items():
        assert row["accuracy"] == pytest.approx(recorded[kind], abs=0.01), kind
        assert sum(row["misread"].values()) == row["n"] - row["correct"], kind  # every miss, as (true, read)
        assert all(a != b for a, b in row["misread"]), kind
