"""The app's shipped files: each gallery holds real test images, and each atlas projects like sklearn's LDA."""
import pytest
import torch
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from vacdemo.lab.atlas import build_atlas, load_atlas
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.data import load_split
from vacdemo.lab.gallery import load_gallery
from vacdemo.models.vac import reconstruction_error


@pytest.mark.parametrize("name", ["mnist", "fmnist"])
def test_gallery_images_are_the_test_images_they_name_and_mostly_classified_right(name, data_dir, pretrained):
    g, model = load_gallery(PRETRAINED / name), pretrained[name]
    test = load_split(name, False, data_dir)
    assert sorted(g.labels.unique().tolist()) == list(range(10)) and len(g) >= 50
    assert torch.equal(g.images, test.images[g.indices]) and torch.equal(g.labels, test.labels[g.indices])
    x = torch.stack([g.image(i) for i in range(len(g))])
    with torch.no_grad():
        acc = (model.classify(x).argmax(1) == g.labels).float().mean().item()
    assert acc >= (0.95 if name == "mnist" else 0.80), acc


@pytest.mark.parametrize("name", ["mnist", "fmnist"])
def test_shipped_atlas_matches_its_model(name, data_dir, pretrained):
    a, model = load_atlas(PRETRAINED / name), pretrained[name]
    x, y = load_split(name, False, data_dir).batch(slice(0, 100))
    with torch.no_grad():
        mu = model.encode(x)[0]
        assert torch.allclose(torch.from_numpy(a.project(mu)), a.codes[:100], atol=1e-3)
        assert torch.allclose(reconstruction_error(model, x), a.re[:100], atol=1e-3)
    assert torch.equal(a.labels[:100], y)


def test_atlas_projection_is_sklearns_lda_transform(data_dir, model):
    test = load_split("mnist", False, data_dir)
    a = build_atlas(model, test, n=600, batch_size=200)
    with torch.no_grad():
        mu = model.encode(test.batch(slice(0, 600))[0])[0].double().numpy()
    lda = LinearDiscriminantAnalysis(n_components=2).fit(mu, test.labels[:600].numpy())
    expected = torch.from_numpy(lda.transform(mu)).float()
    assert torch.allclose(torch.from_numpy(a.project(mu)), expected, atol=1e-3)
    # the classes are pulled apart: each class's mean is nearer its own points than the others' on average
    centres = torch.stack([a.codes[a.labels == c].mean(0) for c in range(10)])
    own = (a.codes - centres[a.labels]).norm(dim=1).mean()
    assert own < torch.cdist(centres, centres).sum() / 90
