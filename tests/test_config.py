"""Config: the model's shape in its own dataclass, JSON round trips, the old flat layout, refused fields."""
import argparse

import pytest

from vacdemo import Config, preset
from vacdemo.cli import parse_override
from vacdemo.config import KL_UNIT, ModelShape, flat
from vacdemo.errors import SettingsError


def test_round_trip_keeps_every_field():
    cfg = preset("ship", dataset="fmnist", width1=8, seed=3)
    assert cfg.shape == ModelShape(width1=8, width2=48) and cfg.capacity == 1.0
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_reads_the_flat_layout_of_older_checkpoints():
    old = {k: list(v) if isinstance(v, tuple) else v for k, v in flat(preset("fast", dataset="mnist")).items()}
    old["kl_unit"] = KL_UNIT
    assert Config.from_dict(old) == preset("fast", dataset="mnist")


@pytest.mark.parametrize("bad, message", [
    ({"shape": {"width1": "wide"}}, "width1"), ({"colour": 1}, "unknown config field"),
    ({"dataset": "cifar"}, "unknown dataset"), ({"shape": 3}, "'shape' must be a JSON object"),
])
def test_bad_fields_are_refused_by_name(bad, message):
    with pytest.raises(SettingsError, match=message):
        Config.from_dict(bad)


def test_kl_unit_is_a_constant_not_a_setting():
    with pytest.raises(argparse.ArgumentTypeError, match="kl_unit"):
        parse_override("kl_unit=bits")
    with pytest.raises(SettingsError, match="not a setting"):
        preset("fast", kl_unit="bits")


def test_set_names_shape_fields_directly():
    assert parse_override("width1=24") == ("width1", 24)
    assert preset("fast", **dict([parse_override("width2=40")])).shape.width2 == 40
