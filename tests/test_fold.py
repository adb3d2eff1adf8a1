"""BatchNorm folding: the attack's view computes the same function in fewer ops and never touches the model."""
import pytest
import torch

from vacdemo import load_pretrained
from vacdemo.data import load_split
from vacdemo.models.fold import attack_view, fold_batchnorm


@pytest.mark.parametrize("name", ["mnist", "fmnist"])
def test_folded_model_computes_the_same_function(name, data_dir, pretrained):
    model = pretrained[name]
    folded = fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # the original keeps its own
    x, _ = load_split(name, False, data_dir).batch(slice(0, 64))
    with torch.no_grad():
        assert torch.allclose(folded.classify(x), model.classify(x), atol=1e-4)
        assert torch.allclose(folded.reconstruct(x), model.reconstruct(x), atol=1e-4)
    assert not folded.training and not any(p.requires_grad for p in folded.parameters())


def test_attack_view_is_cached_until_the_weights_change():
    model = load_pretrained("mnist")  # its own: the test writes to its weights
    view = attack_view(model)
    assert attack_view(model) is view
    with torch.no_grad():
        model.classifier[0].bias.add_(1.0)  # an in-place write, as an optimiser step makes
    fresh = attack_view(model)
    assert fresh is not view
    assert torch.equal(fresh.classifier[0].bias, model.classifier[0].bias)
