"""Our PGD against an independent implementation (torchattacks) on a trained model and real data."""
import pytest
import torch
import torchattacks

from vacdemo.attacks.pgd import pgd
from vacdemo.models.vac import Classify


@pytest.mark.parametrize("eps", [0.075, 0.15, 0.3])
def test_matches_torchattacks_pgd(model, test_batch, eps):
    x, y = test_batch
    # the plain path: the same model, the same ops as torchattacks, so the pixels must agree (the fast path's
    # folded BatchNorm changes the rounding; tests/test_fast_path.py checks it keeps the attack's strength)
    ours = pgd(model, x, y, eps=eps, alpha=0.01, steps=40, fast=False)
    theirs = torchattacks.PGD(Classify(model), eps=eps, alpha=0.01, steps=40, random_start=False)(x, y)
    with torch.no_grad():
        acc_ours = (model.classify(ours).argmax(1) == y).sum().item()
        acc_theirs = (model.classify(theirs).argmax(1) == y).sum().item()
    assert abs(acc_ours - acc_theirs) <= 1  # within 1 image in 100
    assert (ours - theirs).abs().le(1e-5).float().mean() >= 0.999


@pytest.mark.parametrize("eps", [1.0, 2.0])
def test_l2_matches_torchattacks_pgdl2(model, test_batch, eps):
    x, y = test_batch
    ours = pgd(model, x, y, eps=eps, alpha=2.5 * eps / 40, steps=40, norm="2", fast=False)
    theirs = torchattacks.PGDL2(Classify(model), eps=eps, alpha=2.5 * eps / 40, steps=40,
                                random_start=False)(x, y)
    with torch.no_grad():
        acc_ours = (model.classify(ours).argmax(1) == y).sum().item()
        acc_theirs = (model.classify(theirs).argmax(1) == y).sum().item()
        acc_clean = (model.classify(x).argmax(1) == y).sum().item()
    assert abs(acc_ours - acc_theirs) <= 1 and acc_ours < acc_clean
    assert (ours - theirs).abs().le(1e-4).float().mean() >= 0.999


def test_margin_loss_attacks_as_well_as_cross_entropy(model, test_batch):
    x, y = test_batch
    with torch.no_grad():
        acc = {loss: (model.classify(pgd(model, x, y, eps=0.15, loss=loss)).argmax(1) == y).float().mean().item()
               for loss in ("ce", "margin")}
        clean = (model.classify(x).argmax(1) == y).float().mean().item()
    assert acc["margin"] < clean - 0.2 and abs(acc["margin"] - acc["ce"]) < 0.15, acc


def test_robust_accuracy_does_not_increase_with_eps(model, test_batch):
    x, y = test_batch
    accs = []
    for eps in [0.0, 0.05, 0.1, 0.2, 0.3]:
        with torch.no_grad():
            accs.append((model.classify(pgd(model, x, y, eps=eps)).argmax(1) == y).float().mean().item())
    assert all(b <= a for a, b in zip(accs, accs[1:])), accs
    assert accs[0] > 0.9 and accs[-1] < accs[0]


def test_targeted_attack_reaches_its_target_more_often_than_chance(model, test_batch):
    x, y = test_batch
    target = (y + 1) % 10
    x_adv = pgd(model, x, y, eps=0.3, target=target)
    x_margin = pgd(model, x, y, eps=0.3, target=target, loss="margin")
    with torch.no_grad():
        hit = (model.classify(x_adv).argmax(1) == target).float().mean().item()
        hit_margin = (model.classify(x_margin).argmax(1) == target).float().mean().item()
    assert hit > 0.3 and hit_margin > 0.3  # chance is 0.1
