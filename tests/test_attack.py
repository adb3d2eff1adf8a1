import pytest
import torch
from hypothesis import given, settings, strategies as st

from vacdemo import BetaVAC, preset
from vacdemo.attacks.pgd import fgsm, margin, pgd
from vacdemo.models.vac import build_model

torch.manual_seed(0)
TINY = build_model(preset("fast", width1=4, width2=8)).eval()
TINY.train().encode(torch.rand(64, 1, 28, 28))  # non-trivial BatchNorm statistics
TINY.eval()


def norm_of(delta: torch.Tensor, norm: str) -> torch.Tensor:
    flat = delta.flatten(1)
    return flat.abs().amax(1) if norm == "inf" else flat.norm(dim=1)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(eps=st.floats(0, 0.5), norm=st.sampled_from(["inf", "2"]), batch=st.integers(1, 5),
       steps=st.integers(0, 4), random_start=st.booleans(), train_mode=st.booleans(),
       loss=st.sampled_from(["ce", "margin"]), seed=st.integers(0, 2**16))
def test_invariants(eps, norm, batch, steps, random_start, train_mode, loss, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 1, 28, 28, generator=g)
    x[:, :, :4] = 0.0  # pixels on the box's edges too
    x[:, :, -4:] = 1.0
    y = torch.randint(0, 10, (batch,), generator=g)
    x0 = x.clone()
    first = next(TINY.parameters())
    before = {k: v.clone() for k, v in TINY.state_dict().items()}
    try:
        TINY.train(train_mode)
        first.grad = torch.ones_like(first)
        x_adv = pgd(TINY, x, y, eps=eps, steps=steps, norm=norm, random_start=random_start, loss=loss)
        assert TINY.training == train_mode  # mode restored
        assert torch.equal(first.grad, torch.ones_like(first))  # .grad untouched
    finally:
        TINY.eval()
        first.grad = None
    assert torch.equal(x, x0)  # input untouched
    assert all(torch.equal(before[k], v) for k, v in TINY.state_dict().items())  # BN stats untouched
    assert x_adv.shape == x.shape and x_adv.min() >= 0 and x_adv.max() <= 1
    assert torch.all(norm_of(x_adv - x, norm) <= eps + 1e-6)
    if eps == 0:
        assert torch.equal(x_adv, x)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(norm=st.sampled_from(["inf", "2"]), batch=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_a_sample_does_not_depend_on_the_rest_of_the_batch(norm, batch, seed):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.rand(batch, 1, 28, 28, generator=g), torch.randint(0, 10, (batch,), generator=g)
    eps = torch.rand(batch, generator=g) * 0.3
    # fp32 (fast=False): where bf16 is native the fast path's kernels round differently per batch size, and a
    # flipped sign on a near-zero gradient then moves a pixel by alpha; the fast path has its own test (test_fast_path)
    together = pgd(TINY, x, y, eps=eps, steps=5, norm=norm, fast=False)
    alone = torch.cat([pgd(TINY, x[i:i + 1], y[i:i + 1], eps=eps[i:i + 1], steps=5, norm=norm, fast=False)
                       for i in range(batch)])
    # conv kernels may differ by batch size in the last bits; a sign flip moves one pixel by alpha
    assert (together - alone).abs().gt(1e-5).float().mean() < 0.01


def test_per_sample_eps_equals_separate_calls():
    x, y = torch.rand(1, 1, 28, 28), torch.tensor([3])
    grid = torch.tensor([0.0, 0.1, 0.2, 0.3])
    batch = pgd(TINY, x.expand(4, -1, -1, -1), y.expand(4), eps=grid, steps=10)
    for i, e in enumerate(grid.tolist()):
        single = pgd(TINY, x, y, eps=e, steps=10)
        assert (batch[i] - single[0]).abs().gt(1e-5).float().mean() < 0.01
    assert torch.equal(batch[0], x[0])


def test_fgsm_is_one_signed_gradient_step():
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(3, 1, 28, 28, generator=g) * 0.5 + 0.25, torch.tensor([1, 2, 3])
    x_req = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.nn.functional.cross_entropy(TINY.classify(x_req), y), x_req)
    expected = x + 0.1 * grad.sign()  # interior pixels: no clamping to [0, 1] involved
    # the fp32 path: the oracle above is fp32 (where bf16 is native the fast path rounds its gradient)
    torch.testing.assert_close(fgsm(TINY, x, y, eps=0.1, fast=False), expected, rtol=0, atol=1e-6)


def test_margin_is_positive_iff_misclassified():
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 5.0]])
    y = torch.tensor([0, 1])
    assert torch.equal(margin(logits, y), torch.tensor([-2.0, 3.0]))


@pytest.mark.parametrize("kwargs, message", [
    ({"eps": -0.1}, "eps must be finite and ≥ 0"),
    ({"eps": float("nan")}, "eps must be finite"),
    ({"eps": torch.zeros(3)}, r"eps must be a number or a \(2,\) tensor"),
    ({"eps": 0.1, "norm": "1"}, "norm must be one of"),
    ({"eps": 0.1, "loss": "hinge"}, "loss must be one of"),
    ({"eps": 0.1, "steps": -1}, "steps must be an integer"),
    ({"eps": 0.1, "target": torch.tensor([1, 2, 3])}, r"target must be a class or a \(2,\) tensor"),
    ({"eps": 0.1, "target": 10}, "target classes must lie in 0 … 9"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pgd(TINY, torch.rand(2, 1, 28, 28), torch.tensor([0, 1]), **kwargs)


def test_input_outside_the_unit_box_is_refused():
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        pgd(TINY, torch.rand(2, 1, 28, 28) * 255, torch.tensor([0, 1]), eps=0.1)
