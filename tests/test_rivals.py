"""The shipped rivals (pretrained/<data set>-cnn and -adv): they load, reach their card's figures, and the
adversarially trained one resists PGD-40 at the data set's ε by at least 40 points more than the plain CNN, under
the stronger attack (APGD) too; their training recorded PGD and FGSM accuracy after every epoch."""
import json

import pytest
import torch

from vacdemo import pgd
from vacdemo.serving import lab as serving
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.data import load_split
from vacdemo.training.evaluate import evaluate
from vacdemo.study.rivals import USUAL_EPS, stronger

SHIPPED = [name for name in ("mnist", "fmnist") if (PRETRAINED / f"{name}-adv" / "config.json").exists()]


def test_both_data_sets_rivals_are_shipped():
    assert SHIPPED == ["mnist", "fmnist"] and all((PRETRAINED / n / "compare.json").exists() for n in SHIPPED)


@pytest.mark.slow  # three models on the whole test set, PGD-40 and APGD
@pytest.mark.parametrize("name", SHIPPED)
def test_rivals_reach_their_card_figures_and_adversarial_training_holds(name, data_dir):
    card = json.loads((PRETRAINED / name / "compare.json").read_text())
    test = load_split(name, False, data_dir)
    models = serving.load_rivals(name)
    x, y = test.batch(slice(0, card["n"]))  # the card's images
    eps = USUAL_EPS[name]
    k = card["eps"].index(min(card["eps"], key=lambda e: abs(e - eps)))
    robust = {}
    for label, model in models.items():
        if label != "β-VAC":
            assert evaluate(model, test, torch.device("cpu"))["accuracy"] == pytest.approx(card["clean"][label], abs=0.01)
        with torch.no_grad():
            robust[label] = (model.classify(pgd(model, x, y, eps=eps)).argmax(1) == y).float().mean().item()
        assert robust[label] == pytest.approx(card["robust"][label][k], abs=0.01)
    adv, plain = "adversarially trained CNN", "plain CNN"
    assert robust[adv] >= robust[plain] + 0.40, robust
    assert stronger(models[adv], x[:100], y[:100], eps) >= stronger(models[plain], x[:100], y[:100], eps) + 0.40
    history = json.loads((PRETRAINED / f"{name}-adv" / "metrics.json").read_text())
    assert all("test_pgd_acc" in r and "test_fgsm_acc" in r for r in history)
