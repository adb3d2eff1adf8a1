"""Training-time augmentation: seeded, shape- and range-preserving, label-free; and the EMA the checkpoint stores."""
import torch

from vacdemo import load_checkpoint, preset
from vacdemo.training.augment import augment
from vacdemo.models.checkpoint import save_checkpoint
from vacdemo.data import Split, load_split
from vacdemo.training.train import train


def test_seeded_in_range_and_per_image(data_dir):
    x, _ = load_split("mnist", True, data_dir).batch(slice(0, 64))
    a = augment(x, torch.Generator().manual_seed(3), "mnist")
    b = augment(x, torch.Generator().manual_seed(3), "mnist")
    c = augment(x, torch.Generator().manual_seed(4), "mnist")
    assert torch.equal(a, b) and not torch.equal(a, c)  # the seed decides, and only it
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    moved = (a - x).flatten(1).abs().sum(1)
    assert (moved > 1).float().mean() > 0.9  # nearly every image changed, each its own way
    assert torch.corrcoef(torch.stack([(a - x)[0].flatten(), (a - x)[1].flatten()]))[0, 1] < 0.9


def test_training_with_augmentation_keeps_each_image_with_its_label(data_dir, monkeypatch):
    """Each step trains on the labels of the very images it drew (the first epoch's order is reproducible)."""
    import vacdemo.training.train as T
    seen = []
    real = T.train_step
    monkeypatch.setattr(T, "train_step", lambda model, opt, cfg, x, y, *a: seen.append(y.clone()) or
                        real(model, opt, cfg, x, y, *a))
    split = load_split("mnist", True, data_dir)
    small = Split(split.images[:256], split.labels[:256])
    cfg = preset("fast", width1=4, width2=8, epochs=1, batch_size=64, augment=True, bf16=False)
    train(cfg, small, Split(small.images[:64], small.labels[:64]), torch.device("cpu"))
    perm = torch.randperm(256, generator=torch.Generator().manual_seed(cfg.seed))
    assert len(seen) == 4
    for i, y in enumerate(seen):
        assert torch.equal(y, small.labels[perm[i * 64:(i + 1) * 64]]), i


def test_the_checkpoint_stores_the_ema_weights(data_dir, tmp_path):
    split = load_split("mnist", True, data_dir)
    small, check = Split(split.images[:256], split.labels[:256]), Split(split.images[:64], split.labels[:64])

    def run(**kw):
        cfg = preset("fast", width1=4, width2=8, epochs=2, batch_size=64, bf16=False, **kw)
        return train(cfg, small, check, torch.device("cpu"))
    plain, _ = run()
    latest, _ = run(ema=1e-9, ema_start_epochs=1.0)  # an average that forgets at once: the latest weights
    averaged, history = run(ema=0.9, ema_start_epochs=1.0)
    close = [torch.allclose(a.float(), b.float(), atol=1e-5) for a, b in
             zip(plain.state_dict().values(), latest.state_dict().values())]
    assert all(close)  # the same trajectory: averaging observes, it never steers training
    assert not all(torch.allclose(a.float(), b.float(), atol=1e-5) for a, b in
                   zip(plain.state_dict().values(), averaged.state_dict().values()))
    assert "test_accuracy_raw" in history[1] and "test_accuracy_raw" not in history[0]  # averaging from epoch 2 on
    save_checkpoint(averaged, tmp_path / "ckpt", {})
    loaded = load_checkpoint(tmp_path / "ckpt")
    for k, v in averaged.state_dict().items():
        assert torch.equal(loaded.state_dict()[k].to(v.dtype), v), k
