import pytest
import torch

from vacdemo import Detector, pgd
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.data import load_split
from vacdemo.training.evaluate import evaluate


@pytest.mark.slow  # the whole test set through each shipped model
@pytest.mark.parametrize("name", ["mnist", "fmnist"])
def test_shipped_checkpoint_reproduces_its_recorded_accuracy(name, data_dir, pretrained):
    model = pretrained[name]
    assert not model.training and model.cfg.dataset == name
    measured = evaluate(model, load_split(name, False, data_dir), torch.device("cpu"))["accuracy"]
    recorded = model.meta["metrics"]["final"]["test_accuracy"]
    assert abs(measured - recorded) <= 0.002, (measured, recorded)  # full test set, fp32


@pytest.mark.parametrize("name", ["mnist", "fmnist"])
def test_shipped_detector_loads_and_flags_attacked_inputs_more(name, data_dir, pretrained):
    model, det = pretrained[name], Detector.load(PRETRAINED / name / "detector_inf.json")
    x, y = load_split(name, False, data_dir).batch(slice(0, 64))
    eps = 0.3 if name == "mnist" else 0.1
    clean, adv = det.score(model, x), det.score(model, pgd(model, x, y, eps=eps))
    assert adv.mean() > clean.mean() + 0.3
