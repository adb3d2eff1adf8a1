import torch

from vacdemo import BetaVAC, preset, reconstruction_error
from vacdemo.models.vac import build_model


def small_model(**kw) -> BetaVAC:
    torch.manual_seed(0)
    return build_model(preset("fast", width1=8, width2=16, **kw)).eval()


def test_shapes_and_ranges():
    model, x = small_model(), torch.rand(5, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, 100)
    assert model.classify(x).shape == (5, 10)
    recon = model.reconstruct(x)
    assert recon.shape == (5, 1, 28, 28) and recon.min() >= 0 and recon.max() <= 1
    z = model.reparameterize(mu, logvar, samples=3)
    assert z.shape == (3, 5, 100)
    assert model.decode(z).shape == (3, 5, 1, 28, 28)
    assert reconstruction_error(model, x).shape == (5,)


def test_paper_width_matches_the_paper_layout():
    model = build_model(preset("paper"))
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 96, 96, 192, 192, 192, 192, 192]
    assert [c.stride[0] for c in convs] == [1, 1, 2, 1, 1, 2, 1, 1]
    assert [c.kernel_size[0] for c in convs] == [3] * 7 + [1]
    hidden = [m.out_features for m in model.classifier if isinstance(m, torch.nn.Linear)]
    assert hidden == [64, 64, 10]


def test_test_time_outputs_are_deterministic_and_use_mu():
    model, x = small_model(), torch.rand(3, 1, 28, 28)
    assert torch.equal(model.classify(x), model.classify(x))
    mu, _ = model.encode(x)
    assert torch.equal(model.classify(x), model.classifier(mu))
    assert torch.equal(model.reconstruct(x), torch.sigmoid(model.decode(mu)))


def test_a_sample_does_not_depend_on_the_rest_of_the_batch_in_eval_mode():
    model, x = small_model(), torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(model.classify(x[:1]), model.classify(x)[:1], rtol=1e-4, atol=1e-5)
