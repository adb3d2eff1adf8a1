"""The lever screens (issue 30): a lever reaches the training, the run resumes and is reused, and the table reads
the validation split (what chooses) beside the realset (reported)."""
import json

import pytest
import torch

from vacdemo.errors import SettingsError
from vacdemo.study.screen import LEVERS, VALIDATION, screen, table
from vacdemo.training.augment import augment, centre_distances
from vacdemo.data import load_split


def test_redraw_draws_along_the_centre_line_and_elastic_keeps_the_range(data_dir):
    s = load_split("mnist", True, data_dir)
    x, _ = s.batch(torch.arange(16))
    d = centre_distances(s.images[:16]).float()[:, None] / 4
    assert (d == 0).any() and d.max() > 5  # the line itself, and pixels far from it
    out = augment(x, torch.Generator().manual_seed(0), "mnist", d=d, redraw=1.0, elastic=2.0)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    # drawn again: the new ink lies near the old centre line, never far from it (before the affine moves it)
    from vacdemo.training.augment import random_redraw
    pen = random_redraw(x, d, torch.Generator().manual_seed(1), p=1.0)
    assert pen[d > 3.5].max() == 0 and pen[d == 0].min() > 0.4


@pytest.mark.slow  # trains a model for an epoch and reads the realset
def test_a_screen_trains_once_and_is_read_from_its_result(data_dir, tmp_path):
    row = screen("redraw+elastic", tmp_path, epochs=1, data_dir=data_dir, limit=256)
    assert row["changes"] == LEVERS["mnist"]["redraw+elastic"] and row["n_validation"] == VALIDATION
    assert set(row["realset"]) >= {"pen-italic", "pen-styled", "all"}
    assert json.loads((tmp_path / "redraw+elastic" / "result.json").read_text()) == row
    assert not (tmp_path / "redraw+elastic" / "resume.pt").exists()  # the checkpoint is saved: no state left
    assert screen("redraw+elastic", tmp_path, epochs=1, data_dir=data_dir, limit=256) == row  # reused
    assert "| redraw+elastic | 1 |" in table([row])
    assert len(row["validation_hits"]) == VALIDATION
    assert row["validation_hits"].count("1") == round(row["validation_accuracy"] * VALIDATION)
    older = {k: v for k, v in row.items() if k != "validation_hits"}  # a result saved before the paired column
    (tmp_path / "redraw+elastic" / "result.json").write_text(json.dumps(older))
    assert screen("redraw+elastic", tmp_path, epochs=1, data_dir=data_dir, limit=256) == row  # its hits read again
    with pytest.raises(SettingsError, match="not fmnist"):
        screen("redraw+elastic", tmp_path, dataset="fmnist", epochs=1, data_dir=data_dir)


def test_every_lever_is_a_valid_change_of_its_data_sets_ship_recipe():
    from vacdemo.config import preset
    from vacdemo.study.screen import lever_config
    for dataset, levers in LEVERS.items():
        ship = preset("ship", dataset=dataset)
        base = lever_config(dataset, "ship", 8)
        assert (base.capacity, base.shape, base.augment) == (ship.capacity, ship.shape, True) and base.epochs == 8
        for lever, changes in levers.items():
            cfg = lever_config(dataset, lever, 8)  # raises on a field the data set refuses (redraw on garments)
            assert cfg != base or lever == "ship", (dataset, lever)
            assert cfg.capacity == ship.capacity, (dataset, lever)  # a lever changes one thing, never C


def test_the_table_pairs_each_lever_with_the_ship_row_on_the_same_images():
    from vacdemo.study.screen import paired
    base = {"lever": "ship", "validation_hits": "1100", "validation_accuracy": 0.5, "epochs": 1, "realset": {"all": 1},
            "train_s": 1}
    same = {**base, "lever": "same"}
    better = {**base, "lever": "better", "validation_hits": "1110", "validation_accuracy": 0.75}
    assert paired(same, base) == (0.0, 0.0)  # the same images read the same: no difference, no doubt
    diff, half = paired(better, base)
    assert diff == 0.25 and half == pytest.approx(1.96 * 0.5 / 2)  # the differences' sample s.d. is 0.5, over √4
    text = table([base, better, {**better, "lever": "no-hits", "validation_hits": None, "realset": {}}])
    assert "| ship | 1 | 0.5000 | — |" in text and "+0.2500 ± 0.4900" in text
    assert "| no-hits | 1 | 0.7500 | — | — |" in text  # no hits: no pairing; a kind it never read: —


def test_the_table_pairs_with_any_lever_named_as_base():
    from vacdemo.study.screen import table
    row = {"validation_hits": "1100", "validation_accuracy": 0.5, "epochs": 1, "realset": {"all": 1}, "train_s": 1}
    rows = [{**row, "lever": "ship"}, {**row, "lever": "wide", "validation_hits": "0000", "validation_accuracy": 0.0},
            {**row, "lever": "deep", "validation_hits": "1111", "validation_accuracy": 1.0}]
    text = table(rows, base="wide")
    assert "Δ vs wide" in text and "| wide | 1 | 0.0000 | — |" in text
    assert "| ship | 1 | 0.5000 | +0.5000" in text and "| deep | 1 | 1.0000 | +1.0000 ± 0.0000" in text
