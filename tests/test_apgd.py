"""The second opinions of the reproduction (issue 16, item 5): APGD against torchattacks.APGD, APGD at
least as strong as PGD-40 on the shipped model, the raw step of the paper's Algorithm 2, and Square."""
import pytest
import torch
import torch.nn.functional as F
import torchattacks

from vacdemo.attacks.apgd import apgd, checkpoints
from vacdemo.attacks.pgd import pgd
from vacdemo.config import preset
from vacdemo.models.vac import BetaVAC, Classify
from vacdemo.study.second import square
from vacdemo.models.vac import build_model

EPS = 0.012  # where the shipped MNIST model is half robust: an attack's strength shows


@pytest.fixture(scope="module")
def batch(test_batch):
    x, y = test_batch
    return x[:60], y[:60]


def robust(model, x, y) -> int:
    with torch.no_grad():
        return int((model.classify(x).argmax(1) == y).sum())


def test_checkpoints_follow_the_paper():
    marks = checkpoints(100)
    assert marks[0] == 22 and marks == sorted(set(marks)) and marks[-1] < 100
    assert all(b - a >= 6 for a, b in zip(marks, marks[1:]))  # the gap shrinks by 3 % a time, never below 6 %


@pytest.mark.slow  # APGD-50, ours and torchattacks'
def test_apgd_agrees_with_torchattacks(model, batch):
    x, y = batch
    ours = apgd(model, x, y, eps=EPS, steps=50, restarts=1, loss="ce")
    theirs = torchattacks.APGD(Classify(model), eps=EPS, steps=50, n_restarts=1, loss="ce", seed=0)(x, y)
    assert abs(robust(model, ours, y) - robust(model, theirs, y)) <= 2  # within 2 images in 60
    assert (ours - x).abs().max() <= EPS + 1e-6 and ours.min() >= 0 and ours.max() <= 1


@pytest.mark.slow  # APGD and PGD-40 on a batch (~1 min on 2 cores)
def test_apgd_is_at_least_as_strong_as_pgd40(model, batch):
    x, y = batch
    pgd40 = robust(model, pgd(model, x, y, eps=EPS, steps=40, fast=False), y)
    strong = robust(model, apgd(model, x, y, eps=EPS, steps=50, restarts=2), y)
    assert strong <= pgd40 and strong < robust(model, x, y)


def test_square_reads_no_gradient_and_stays_in_the_ball(model, batch):
    x, y = batch
    x, y = x[:20], y[:20]
    x_adv = square(model, x, y, 0.15, queries=200)
    assert (x_adv - x).abs().max() <= 0.15 + 1e-6
    assert robust(model, x_adv, y) < robust(model, x, y)  # a random search fools the model at this ε


def test_raw_step_moves_by_alpha_times_each_images_gradient():
    torch.manual_seed(0)
    model = build_model(preset("fast", dataset="mnist")).eval()
    x, y = torch.full((3, 1, 28, 28), 0.5), torch.tensor([1, 2, 3])
    alpha = 0.5  # large, so the step is visible; ε = 1 never clips, and x = 0.5 ± a small step stays in [0, 1]
    x_in = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model.classify(x_in), y, reduction="sum"), x_in)
    moved = pgd(model, x, y, eps=1.0, alpha=alpha, steps=1, step="raw", fast=False) - x
    assert torch.allclose(moved, alpha * grad, atol=1e-6)
    signed = pgd(model, x, y, eps=1.0, alpha=0.01, steps=1, fast=False) - x
    assert torch.allclose(signed.abs(), torch.full_like(signed, 0.01), atol=1e-6)  # the default: sign steps


def test_step_must_be_sign_or_raw(batch):
    from vacdemo.errors import SettingsError
    x, y = batch
    with pytest.raises(SettingsError, match="step must be one of"):
        pgd(build_model(preset("fast", dataset="mnist")), x[:1], y[:1], eps=0.1, step="half")
