import json

import pytest
import torch

from vacdemo.attacks.adaptive import adaptive_pgd
from vacdemo.data import Split, load_split
from vacdemo.models.detector import Detector, DetectorError, detection_metrics, fit_detector
from vacdemo.attacks.evaluate import attack_table, fit_on_training
from vacdemo.models.vac import reconstruction_error


@pytest.fixture(scope="module")
def fitted(model, data_dir):
    train = load_split("mnist", True, data_dir)
    return fit_on_training(model, train, [0.0, 0.15, 0.3], n=200)


def test_logistic_fit_on_separable_scores_puts_the_threshold_between_them():
    det = fit_detector(torch.rand(100) + 1.0, torch.rand(100) + 3.0, {})
    assert 2.0 <= det.threshold <= 3.0
    m = detection_metrics(det, torch.rand(100) + 1.0, torch.rand(100) + 3.0)
    assert m == {"accuracy": 1.0, "auc": 1.0, "tpr_at_5fpr": 1.0}


def test_metrics_of_identical_distributions_are_at_chance():
    det = Detector(1.0, -2.0)
    re = torch.linspace(0, 4, 1000)
    m = detection_metrics(det, re, re)
    assert m["auc"] == pytest.approx(0.5) and m["accuracy"] == pytest.approx(0.5)


def test_detector_separates_clean_from_attacked_real_data(model, fitted, data_dir):
    test = load_split("mnist", False, data_dir)
    rows = attack_table(model, fitted, Split(test.images[:200], test.labels[:200]), [0.0, 0.3], n=200)
    at0, at3 = rows
    assert at0["detection_auc"] == pytest.approx(0.5)  # ε = 0: the "attacked" images are the clean ones
    assert at3["re_adv"] > at3["re_clean"]
    assert at3["detection_auc"] > 0.8, rows
    assert at3["robust_accuracy"] < at0["robust_accuracy"]


def test_score_is_a_probability_per_input(model, fitted, test_batch):
    x = test_batch[0][:8]
    p = fitted.score(model, x)
    assert p.shape == (8,) and torch.all((p >= 0) & (p <= 1))
    torch.testing.assert_close(p, torch.sigmoid(fitted.coef * reconstruction_error(model, x) + fitted.intercept))


def test_save_load_round_trip_and_bad_files(fitted, tmp_path):
    fitted.save(tmp_path / "d.json")
    loaded = Detector.load(tmp_path / "d.json")
    assert (loaded.coef, loaded.intercept, loaded.meta) == (fitted.coef, fitted.intercept, fitted.meta)
    assert json.loads((tmp_path / "d.json").read_text())["feature"].startswith("l2")
    (tmp_path / "bad.json").write_text('{"coef": "x"}')
    with pytest.raises(DetectorError, match="not a detector file"):
        Detector.load(tmp_path / "bad.json")
    (tmp_path / "neg.json").write_text('{"coef": -1, "intercept": 0}')
    with pytest.raises(DetectorError, match="coef must be finite and > 0"):
        Detector.load(tmp_path / "neg.json")
    with pytest.raises(DetectorError, match="missing"):
        Detector.load(tmp_path / "none.json")


def test_adaptive_attack_successes_are_misclassified_and_undetected(model, fitted, test_batch):
    x, y = test_batch[0][:50], test_batch[1][:50]
    x_adv, evaded = adaptive_pgd(model, x, y, fitted, eps=0.3, steps=20)
    assert (x_adv - x).abs().amax() <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    with torch.no_grad():
        wrong = model.classify(x_adv).argmax(1) != y
        under = reconstruction_error(model, x_adv) < fitted.threshold
    assert torch.equal(evaded, evaded & wrong & under)
    assert evaded.sum() >= 5  # not vacuous: at ε = 0.3 the detector-aware attack gets through on many images


def test_the_papers_readings_on_a_known_case():
    """τ = 2: clean errors 1, 1, 3 (one false alarm); attacked 3, 3, 1, of which the first and the last fooled
    the model. TNR 2/3; over the clean and the successful attacks only: (2 passed + 1 caught) / 5."""
    det = Detector(coef=1.0, intercept=-2.0)
    m = detection_metrics(det, torch.tensor([1.0, 1.0, 3.0]), torch.tensor([3.0, 3.0, 1.0]),
                          torch.tensor([True, False, True]))
    assert m["tnr"] == pytest.approx(2 / 3) and m["accuracy_successful"] == pytest.approx(3 / 5)
    assert m["accuracy"] == pytest.approx(4 / 6)  # every attacked input counted: 2 passed + 2 caught of 6
    none = detection_metrics(det, torch.tensor([1.0, 1.0, 3.0]), torch.tensor([1.0, 1.0, 3.0]),
                             torch.zeros(3, dtype=torch.bool))
    assert none["accuracy_successful"] == none["tnr"]  # no attack succeeded (ε = 0): the reading is the TNR
