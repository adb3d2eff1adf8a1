"""The two models beside the β-VAC: the plain CNN (the β-VAC's encoder and classifier on cross-entropy) and the
adversarially trained CNN. They build from a config, train, save and load like the β-VAC; the training attack
stays in the ε-ball; adversarial training on a small subset beats standard training under PGD."""
import pytest
import torch

from vacdemo import pgd
from vacdemo.training.adversarial import training_alpha, training_attack
from vacdemo.models.checkpoint import load_checkpoint, save_checkpoint
from vacdemo.config import preset
from vacdemo.data import Split, load_split
from vacdemo.errors import SettingsError
from vacdemo.models.fold import fold_batchnorm
from vacdemo.models.vac import BetaVAC, PlainCNN, build_model, eval_mode
from vacdemo.training.train import train

TINY = dict(width1=8, width2=16, epochs=2, batch_size=64, bf16=False)


def test_the_plain_cnn_is_the_vacs_encoder_and_classifier_alone():
    cnn, vac = build_model(preset("fast", kind="cnn")), build_model(preset("fast"))
    assert isinstance(cnn, PlainCNN) and isinstance(vac, BetaVAC)
    assert not cnn.has_decoder and vac.has_decoder
    shared = {k: v.shape for k, v in vac.state_dict().items() if k.split(".")[0] in ("encoder", "to_mu", "classifier")}
    assert {k: v.shape for k, v in cnn.state_dict().items()} == shared
    x = torch.rand(3, 1, 28, 28)
    with eval_mode(cnn), torch.no_grad():
        assert torch.allclose(fold_batchnorm(cnn).classify(x), cnn.classify(x), atol=1e-4)  # no decoder to fold


def test_settings_refuse_what_cannot_run():
    with pytest.raises(SettingsError, match="kind"):
        preset("fast", kind="mlp")
    with pytest.raises(SettingsError, match="adversarial training is for the plain CNN"):
        preset("fast", adv_eps=0.3)
    with pytest.raises(SettingsError, match="adv_steps"):
        preset("fast", kind="cnn", adv_steps=0)


def test_the_training_attack_stays_in_the_ball_and_moves():
    torch.manual_seed(0)
    model = build_model(preset("fast", kind="cnn")).train()
    x, y = torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))
    for steps in (1, 3):
        x_adv = training_attack(model, x, y, 0.3, steps)
        assert (x_adv - x).abs().max() <= 0.3 + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
        assert (x_adv - x).abs().mean() > 0.05
    assert training_alpha(0.3, 1) == pytest.approx(0.375) and training_alpha(0.3, 10) == pytest.approx(0.075)
    assert not any(p.grad is not None for p in model.parameters())  # the input's gradient only


@pytest.fixture(scope="module")
def small(data_dir):
    train_split, test_split = load_split("mnist", True, data_dir), load_split("mnist", False, data_dir)
    return Split(train_split.images[:3000], train_split.labels[:3000]), Split(test_split.images[:300],
                                                                              test_split.labels[:300])


@pytest.mark.slow  # two models trained, one adversarially
def test_adversarial_training_resists_pgd_where_standard_training_does_not(small, tmp_path):
    train_split, test_split = small
    x, y = test_split.batch(slice(0, 300))
    robust = {}
    for name, extra in (("cnn", {}), ("adv", dict(adv_eps=0.3, adv_ramp_epochs=0.5))):
        cfg = preset("fast", kind="cnn", **{**TINY, "epochs": 4}, **extra)
        model, history = train(cfg, train_split, test_split, torch.device("cpu"))
        save_checkpoint(model, tmp_path / name, {})
        model = load_checkpoint(tmp_path / name)
        assert isinstance(model, PlainCNN) and history[-1]["test_accuracy"] > 0.6
        with torch.no_grad():
            robust[name] = (model.classify(pgd(model, x, y, eps=0.3)).argmax(1) == y).float().mean().item()
    assert robust["cnn"] < 0.05 and robust["adv"] > robust["cnn"] + 0.2, robust


def test_select_keeps_the_best_epoch(small):
    """Early stopping against catastrophic overfitting: the model returned is the epoch that read best."""
    train_split, test_split = small
    cfg = preset("fast", kind="cnn", **{**TINY, "epochs": 3})
    seen, readings = [], iter([0.5, 0.9, 0.1])

    def watch(model):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return {"test_pgd_acc": next(readings)}
    model, history = train(cfg, train_split, test_split, torch.device("cpu"), limit=640, on_epoch=watch,
                           select="test_pgd_acc")
    assert [r.get("selected", False) for r in history] == [False, True, False]
    assert all(torch.equal(v, seen[1][k]) for k, v in model.state_dict().items())
    assert not all(torch.equal(v, seen[2][k]) for k, v in model.state_dict().items())
