import json
import pytest
import torch

from vacdemo import preset
from vacdemo.models.vac import build_model
from vacdemo.data import Split, load_split
from vacdemo.device import pick_device
from vacdemo.training.evaluate import evaluate
from vacdemo.errors import SettingsError
from vacdemo.training.train import make_optimizer, make_scheduler, train


@pytest.mark.slow  # three epochs on 4096 images
def test_short_fast_run_on_real_data_learns_to_classify(data_dir, tmp_path):
    """The failure this guards against: a loss that falls while accuracy stays at chance."""
    train_split = load_split("mnist", True, data_dir)
    test = load_split("mnist", False, data_dir)
    held_out = Split(test.images[:1000], test.labels[:1000])
    cfg = preset("fast", epochs=3, milestones=(), capacity=1.0, capacity_ramp_epochs=1.0)
    cpu = pick_device("cpu")
    torch.manual_seed(1)
    untrained = evaluate(build_model(cfg), held_out, cpu)["accuracy"]
    model, history = train(cfg, train_split, held_out, cpu, out_dir=tmp_path, limit=4096)
    first, last = history[0], history[-1]
    assert last["train_recon"] + last["train_ce"] < first["train_recon"] + first["train_ce"]
    assert last["train_ce"] < 0.5 * first["train_ce"]
    assert last["test_accuracy"] > 0.8, history
    assert untrained < 0.3
    # the capacity constraint holds: KL tracks c = C once the ramp is over
    assert abs(last["train_kl"] - cfg.capacity) < 0.1 * cfg.capacity
    assert (tmp_path / "metrics.json").exists() and not model.training


def test_training_is_reproducible(data_dir):
    split = load_split("mnist", True, data_dir)
    small = Split(split.images[:512], split.labels[:512])
    cfg = preset("fast", width1=8, width2=16, epochs=1, bf16=False)
    a, _ = train(cfg, small, small, pick_device("cpu"))
    b, _ = train(cfg, small, small, pick_device("cpu"))
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_schedules_count_in_batches():
    for name, at_end in (("step", 1e-4), ("cosine", 0.0)):
        cfg = preset("fast", epochs=3, milestones=(2,), schedule=name)
        opt = make_optimizer(cfg, build_model(cfg))
        sched, lrs = make_scheduler(cfg, opt, steps=10), []
        for _ in range(30):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        assert lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(at_end, abs=1e-5)
        if name == "step":
            assert lrs[19] == pytest.approx(1e-3) and lrs[20] == pytest.approx(1e-4)  # drop after epoch 2
    with pytest.raises(ValueError, match="schedule must be"):
        make_scheduler(preset("fast", schedule="linear"), opt, steps=10)


class Stop(Exception):
    pass


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_an_interrupted_run_resumes_to_the_same_weights(data_dir, tmp_path, ema):
    """A session ends mid-training: the next call continues after the last finished epoch, and ends where an
    unbroken run ends (same weights, same history); a state from other settings is refused, not mixed in."""
    split = load_split("mnist", True, data_dir)
    small = Split(split.images[:256], split.labels[:256])
    cfg = preset("fast", width1=8, width2=16, epochs=3, milestones=(2,), bf16=False, ema=ema, augment=True)
    whole, h_whole = train(cfg, small, small, pick_device("cpu"), out_dir=tmp_path / "whole")

    def stop_at_two(model):
        if stop_at_two.calls == 1:
            raise Stop  # during epoch 2's evaluation: epoch 1's state is on disk, epoch 2's is not
        stop_at_two.calls += 1
        return {}
    stop_at_two.calls = 0
    with pytest.raises(Stop):
        train(cfg, small, small, pick_device("cpu"), out_dir=tmp_path / "cut", on_epoch=stop_at_two)
    torch.manual_seed(123)  # the global RNG is restored from the state, not from whatever ran in between
    resumed, h_resumed = train(cfg, small, small, pick_device("cpu"), out_dir=tmp_path / "cut")
    sa, sb = whole.state_dict(), resumed.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [r["test_accuracy"] for r in h_whole] == [r["test_accuracy"] for r in h_resumed]
    other = preset("fast", width1=8, width2=16, epochs=4, bf16=False)
    with pytest.raises(SettingsError, match="other settings"):
        train(other, small, small, pick_device("cpu"), out_dir=tmp_path / "cut")


def test_a_state_saved_before_a_field_existed_resumes_as_that_fields_default():
    from vacdemo.training.train import same_config
    cfg = preset("fast", dataset="mnist")
    saved = json.loads(json.dumps(cfg.to_dict()))
    older = {k: v for k, v in saved.items() if k not in ("redraw", "elastic")}  # saved before issue 30's fields
    assert same_config(saved, cfg) and same_config(older, cfg)
    assert not same_config({**older, "epochs": cfg.epochs + 1}, cfg)
    assert not same_config({**saved, "no_such_field": 1}, cfg) and not same_config(None, cfg)
    lacking = {k: v for k, v in saved.items() if k != "capacity_smoothing"}  # not a field added since: refused
    assert not same_config(lacking, cfg)
