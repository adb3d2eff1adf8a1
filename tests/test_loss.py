import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence as torch_kl

from vacdemo.training.loss import beta_at, capacity_at, capacity_penalty, kl_divergence, vac_loss


def test_kl_is_zero_at_the_prior():
    assert torch.equal(kl_divergence(torch.zeros(4, 100), torch.zeros(4, 100)), torch.zeros(4))


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(8, 100), torch.randn(8, 100)
    q = Normal(mu, (0.5 * logvar).exp())
    expected = torch_kl(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    torch.testing.assert_close(kl_divergence(mu, logvar), expected, rtol=1e-5, atol=1e-5)


def test_capacity_schedule_endpoints():
    assert capacity_at(0, 1.0, 10) == 0.0
    assert capacity_at(5, 1.0, 10) == pytest.approx(0.5)
    assert capacity_at(10, 1.0, 10) == 1.0
    assert capacity_at(59, 1.0, 10) == 1.0  # holds at C after the ramp
    assert capacity_at(0, 2.0, 0) == 2.0  # no ramp


def terms(kl_reduction="batch", c=0.5, beta=1000.0, recon_reduction="sum", smoothing=0.0):
    torch.manual_seed(0)
    x = torch.rand(6, 1, 28, 28)
    y = torch.randint(0, 10, (6,))
    mu, logvar = torch.randn(6, 100), torch.randn(6, 100)
    recon_logits, class_logits = 10 * torch.randn(2, 6, 1, 28, 28), 10 * torch.randn(2, 6, 10)
    return vac_loss(x, y, mu, logvar, recon_logits, class_logits, beta=beta, c=c, kl_reduction=kl_reduction,
                    recon_reduction=recon_reduction, smoothing=smoothing)


@pytest.mark.parametrize("kl_reduction", ["batch", "sample"])
def test_loss_is_finite_and_adds_up(kl_reduction):
    t = terms(kl_reduction)
    assert all(torch.isfinite(v) for v in t.values())
    torch.testing.assert_close(t["loss"], t["capacity_term"] + t["recon"] + t["ce"])


def test_mean_reduction_divides_the_reconstruction_term_by_the_pixels():
    s, m = terms(recon_reduction="sum"), terms(recon_reduction="mean")
    torch.testing.assert_close(s["recon"], m["recon"])  # logged in nats per image either way
    torch.testing.assert_close(m["loss"], m["capacity_term"] + m["recon"] / 784 + m["ce"])


def test_capacity_term_is_beta_times_distance_to_c():
    t = terms(c=0.0, beta=1000.0)
    torch.testing.assert_close(t["capacity_term"], 1000.0 * t["kl"])
    # "sample" is never below "batch": mean of |KL_i − c| ≥ |mean KL − c|
    assert terms("sample", c=1.0)["capacity_term"] >= terms("batch", c=1.0)["capacity_term"]


def test_unknown_reductions_are_refused():
    with pytest.raises(ValueError, match="kl_reduction"):
        terms("median")
    with pytest.raises(ValueError, match="recon_reduction"):
        terms(recon_reduction="max")


def test_smoothed_capacity_penalty_is_huber_and_close_to_abs():
    kl = torch.linspace(0.0, 2.0, 201)
    exact, smooth = capacity_penalty(kl, 1.0, 1000.0), capacity_penalty(kl, 1.0, 1000.0, smoothing=0.1)
    outside = (kl - 1.0).abs() >= 0.1
    torch.testing.assert_close(smooth[outside], exact[outside] - 1000.0 * 0.05)  # |·| shifted by β·δ/2
    inside = ~outside
    torch.testing.assert_close(smooth[inside], 1000.0 * (kl[inside] - 1.0) ** 2 / 0.2)
    assert torch.all(exact - smooth <= 1000.0 * 0.05 + 1e-3) and torch.all(smooth <= exact + 1e-4)
    assert capacity_penalty(torch.tensor(1.0), 1.0, 1000.0, smoothing=0.1) == 0


@pytest.mark.parametrize("recon_reduction, pixels", [("sum", 784), ("mean", 1)])
def test_loss_matches_closed_form(recon_reduction, pixels):
    """An oracle independent of vac_loss's parts: μ = 1, log σ² = 0 in every dimension gives KL = ½ nat per
    dimension; zero logits give log 2 per pixel and log 10 per label. Eq. 5 at C = 1 is then
    β·|½ − 1| + 784·log 2 (summed over the pixels, or log 2 averaged) + log 10."""
    b, d, beta = 3, 100, 1000.0
    x, y = torch.rand(b, 1, 28, 28), torch.randint(0, 10, (b,))
    mu, logvar = torch.ones(b, d), torch.zeros(b, d)
    out = vac_loss(x, y, mu, logvar, torch.zeros(2, b, 1, 28, 28), torch.zeros(4, b, 10), beta=beta, c=1.0,
                   kl_reduction="sample", recon_reduction=recon_reduction, smoothing=0.0)
    expected = beta * 0.5 + pixels * math.log(2) + math.log(10)
    assert out["loss"].item() == pytest.approx(expected, rel=1e-6)
    assert out["kl"].item() == pytest.approx(0.5)


def test_beta_continuation_rises_geometrically_then_holds():
    assert beta_at(0, 1000.0, 10.0, 8) == pytest.approx(10.0)
    assert beta_at(4, 1000.0, 10.0, 8) == pytest.approx(100.0)  # halfway in log space
    assert beta_at(8, 1000.0, 10.0, 8) == beta_at(30, 1000.0, 10.0, 8) == pytest.approx(1000.0)
    assert beta_at(0, 1000.0, 0.0, 8) == 1000.0  # off: eq. 5's β throughout
