"""The comparison: each model attacked with its own gradients, every model read on every model's adversarial,
and the test-set transfer rates, checked against the plain PGD and against models that share weights."""
import copy

import numpy as np
import torch

from vacdemo import load_pretrained, pgd
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.attacks.compare import compare, transfer_rates
from vacdemo.lab.gallery import load_gallery


def models_and_images(n: int = 24):
    vac = load_pretrained("mnist")
    twin = copy.deepcopy(vac)  # the same function: its attack transfers to the original always
    g = load_gallery(PRETRAINED / "mnist")
    x = torch.stack([g.image(i) for i in range(n)])
    return {"vac": vac, "twin": twin}, x, g.labels[:n].long()


def test_each_model_gets_its_own_attack_and_every_model_reads_every_image():
    models, x, y = models_and_images(1)
    c = compare(models, x[0], int(y[0]), 0.3, fast=False)
    own = pgd(models["vac"], x[:1], y[:1], eps=0.3, fast=False)
    assert np.allclose(c.x_adv[0], own[0, 0].numpy(), atol=1e-6)
    assert c.probs.shape == (2, 2, 10) and c.clean_probs.shape == (2, 10)
    assert np.allclose(c.probs[0, 0], c.probs[0, 1], atol=1e-5)  # the twin reads the same image the same way
    assert c.pred[0] != c.ys[0] and c.transfer.all()  # ε = 0.3 fools this model, and its twin with it


def test_transfer_between_identical_models_is_total_and_robustness_matches_pgd():
    models, x, y = models_and_images()
    out = transfer_rates(models, x, y, 0.1, steps=10)
    with torch.no_grad():
        direct = (models["vac"].classify(pgd(models["vac"], x, y, eps=0.1, steps=10)).argmax(1) == y).float().mean()
    assert abs(out["robust"]["vac"] - direct.item()) < 1e-6
    assert out["counts"][0][1] > 5 and out["transfer"][0][1] == 1.0 and out["transfer"][1][0] == 1.0


def test_a_compare_grid_indexes_like_single_comparisons():
    from vacdemo.attacks.compare import compare_grid
    from vacdemo.lab.sweep import eps_grid
    models, x, y = models_and_images(1)
    eps = eps_grid("mnist", "inf")[::5]
    g = compare_grid(models, x[0], int(y[0]), eps, fast=False)
    assert g.x_adv.shape == (2, 5, 28, 28) and g.probs.shape == (2, 2, 5, 10)
    assert np.array_equal(g.x_adv[0, 0], x[0, 0].numpy())  # ε = 0: the input itself
    one = compare(models, x[0], int(y[0]), float(eps[4]), fast=False)
    assert np.allclose(g.at(4).x_adv, one.x_adv, atol=1e-6) and g.at(4).pred[0] == one.pred[0]


def test_an_unlabelled_input_is_attacked_away_from_each_models_own_reading():
    from vacdemo.attacks.compare import compare_grid
    from vacdemo.config import preset
    from vacdemo.models.vac import build_model
    models, x, y = models_and_images(1)
    torch.manual_seed(0)
    models["untrained"] = build_model(preset("fast", kind="cnn")).eval()  # reads the digit some other way
    g = compare_grid(models, x[0], None, [0.0, 0.3], fast=False)
    own = [int(g.probs[i, i, 0].argmax()) for i in range(3)]  # each model's clean reading
    assert not g.labelled and list(g.ys) == own and own[0] == int(y[0])
    c = g.at(1)
    assert np.array_equal(c.transfer, c.probs.argmax(-1) != np.array(own)[None, :])  # fooled = moved off its own reading
