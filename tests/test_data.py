import pytest
import torch

from vacdemo import CLASS_NAMES
from vacdemo.data import DataNotFoundError, data_root, load_split


@pytest.mark.parametrize("name, n_train", [("mnist", 60000), ("fmnist", 60000)])
def test_real_data_loads_as_floats_in_unit_range(data_dir, name, n_train):
    train = load_split(name, True, data_dir)
    test = load_split(name, False, data_dir)
    assert (len(train), len(test)) == (n_train, 10000)
    x, y = train.batch(slice(0, 64))
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1 and x.max() > 0.9
    assert set(y.tolist()) <= set(range(10)) and len(CLASS_NAMES[name]) == 10


def test_missing_data_root_gives_one_clear_line(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        load_split("fmnist", False, tmp_path / "empty")
    message = str(info.value)
    assert "FashionMNIST not found under" in message and "--download" in message and "\n" not in message


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown dataset 'cifar10'"):
        load_split("cifar10", False)


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("VACDEMO_DATA", str(tmp_path))
    assert str(data_root("explicit")) == "explicit"
    assert data_root() == tmp_path
    monkeypatch.delenv("VACDEMO_DATA")
    assert str(data_root()) == "data"
