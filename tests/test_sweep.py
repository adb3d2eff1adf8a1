"""The app's ε-grid attack: one batched call, each row a PGD attack at its own ε."""
import numpy as np
import pytest
import torch

from vacdemo import Detector, pgd
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.lab.gallery import load_gallery
from vacdemo.lab.sweep import eps_grid, sweep


@pytest.fixture(scope="module")
def lab(model):
    return model, Detector.load(PRETRAINED / "mnist" / "detector_inf.json"), \
        load_gallery(PRETRAINED / "mnist")


def test_grid_hits_the_papers_columns():
    assert {0.0, 0.075, 0.15, 0.225, 0.3} <= set(eps_grid("mnist", "inf").round(6))
    assert {0.0, 0.025, 0.05, 0.075, 0.1} <= set(eps_grid("fmnist", "inf").round(6))


def test_each_row_is_pgd_at_its_eps(lab):
    model, det, g = lab
    x, y = g.image(0), int(g.labels[0])
    eps = eps_grid("mnist", "inf")[::5]  # 0, 0.075, 0.15, 0.225, 0.3
    s = sweep(model, det, x, y, eps, steps=10)
    assert s.x_adv.shape == (5, 28, 28) and s.probs.shape == (5, 10) and s.z.shape == (5, 100)
    assert np.array_equal(s.x_adv[0], x[0].numpy())  # ε = 0: the input itself
    linf = np.abs(s.x_adv - x[0].numpy()).reshape(5, -1).max(1)
    assert np.all(linf <= eps + 1e-6) and s.x_adv.min() >= 0 and s.x_adv.max() <= 1
    for k in (1, 4):  # each batched row is as strong as a lone PGD call at its ε (or a smaller ε's stronger point)
        alone = pgd(model, x[None], torch.tensor([y]), eps=float(eps[k]), steps=10)
        with torch.no_grad():
            p_alone = model.classify(alone).softmax(1)[0, y].item()
        assert s.probs[k, y] <= p_alone + 0.02, (k, s.probs[k, y], p_alone)
    assert s.pred[0] == y and s.pred[-1] != y and s.flip() is not None and s.flip() > 0
    assert s.score[-1] > s.score[0]  # the detector's score rises with the attack
    assert np.allclose(s.probs.sum(1), 1, atol=1e-5)


def test_targeted_reaches_the_target_and_unlabelled_input_uses_the_prediction(lab):
    model, det, g = lab
    x = g.image(0)
    s = sweep(model, det, x, None, eps_grid("mnist", "inf"), target=3)
    assert s.y == int(g.labels[0]) and not s.labelled and s.pred[-1] == 3 and 0 < s.flip() < len(s.eps)


def test_detector_aware_attack_keeps_the_score_lower(lab):
    model, det, g = lab
    x, y = g.image(1), int(g.labels[1])
    eps = eps_grid("mnist", "inf")[::5]
    plain, aware = sweep(model, det, x, y, eps), sweep(model, det, x, y, eps, adaptive=True)
    assert aware.score[1:].mean() < plain.score[1:].mean()


@pytest.mark.parametrize("kw, words", [
    (dict(eps=[1.5]), "ε must lie in"),
    (dict(eps=[-0.1]), "ε must lie in"),
    (dict(eps=[float("nan")]), "ε must lie in"),
    (dict(eps=[0.1], steps=0), "steps must be"),
    (dict(eps=[0.1], steps=10_000), "steps must be"),
    (dict(eps=[0.1], alpha=2.0), "step size"),
    (dict(eps=[0.1], norm="1"), "norm must be"),
    (dict(eps=[0.1], target=12), "target must be"),
    (dict(eps=[0.1], target=3, adaptive=True), "untargeted"),
])
def test_limits_are_enforced_in_the_package(lab, kw, words):
    model, det, g = lab
    with pytest.raises(ValueError, match=words):
        sweep(model, det, g.image(0), 0, **kw)


def test_l2_range_is_wider():
    assert eps_grid("mnist", "2")[-1] > eps_grid("mnist", "inf")[-1] and eps_grid("mnist", "2")[-1] == 3.0


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_attack_strength_never_falls_as_eps_grows(lab, norm):
    """The attack's logit margin, z_y − max z_other, never rises along the grid (each ε keeps the strongest point
    of the smaller balls), and the true class's probability rises by at most 0.02 (the ℓ2 grid rose by more than
    0.05 on a gallery digit before)."""
    model, detector, gallery = lab
    for i in range(0, len(gallery), 16):
        s = sweep(model, detector, gallery.image(i), int(gallery.labels[i]), eps_grid("mnist", norm), norm=norm)
        logp = np.log(np.clip(s.probs.astype(np.float64), 1e-30, 1))  # log-probabilities differ as the logits do
        assert np.allclose(s.margin, logp[:, s.y] - np.delete(logp, s.y, axis=1).max(1), atol=1e-2), i
        assert np.diff(s.margin).max() <= 1e-4, (i, s.margin)
        assert np.diff(s.probs[:, s.y]).max() <= 0.02, (i, s.probs[:, s.y])


def distinct_pictures(s) -> int:
    """How many different attacked pictures the grid shows (two count as one when no pixel differs by 1/255)."""
    kinds = [s.x_adv[0]]
    for x in s.x_adv[1:]:
        if np.abs(x - kinds[-1]).max() >= 1 / 255:
            kinds.append(x)
    return len(kinds)


@pytest.mark.slow  # eleven whole ε-grids
def test_the_morph_keeps_going_on_the_landing_example_and_the_gallery(lab):
    """The page's first picture (MNIST class 0, sample 1) flips at a small ε; past it, PGD keeps pushing, and the
    grid must show it: the picture, the reconstruction error and the film strip keep changing as ε grows. (Ranked
    by a probability margin, every ε from 0.03 on showed the ε = 0.03 picture: largest change 8 of 255.)"""
    model, detector, gallery = lab
    right = [i for i in range(len(gallery)) if int(model.classify(gallery.image(i)[None]).argmax()) ==
             int(gallery.labels[i])]
    landing = next(i for i in gallery.of_class(0) if i in right)  # sample 1: the first the model reads right
    picks = [landing] + right[3::7][:10]
    for i in picks:
        s = sweep(model, detector, gallery.image(i), int(gallery.labels[i]), eps_grid("mnist", "inf"))
        change = np.abs(s.x_adv - s.x_adv[0]).reshape(len(s.eps), -1).max(1)
        assert change[-1] >= 0.9 * s.eps[-1], (i, change)  # the largest ε is used, not the first flip's
        assert distinct_pictures(s) >= 15, (i, distinct_pictures(s))
        assert len(np.unique(s.re.round(4))) >= 15, (i, s.re)  # the reconstruction error moves too
        assert np.abs(s.recon[-1] - s.recon[len(s.eps) // 2]).max() > 0.05, i  # and so does the film strip
