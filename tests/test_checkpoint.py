import json

import pytest
import torch
from safetensors.torch import save_file

from vacdemo import BetaVAC, CheckpointError, load_checkpoint, load_pretrained, preset
from vacdemo.models.checkpoint import META, WEIGHTS, save_checkpoint
from vacdemo.models.vac import build_model


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_model(preset("fast", width1=8, width2=16, capacity=0.5))
    # make BatchNorm buffers non-trivial so the round trip covers them
    model.train().encode(torch.rand(16, 1, 28, 28))
    save_checkpoint(model.eval(), tmp_path / "ckpt", {"final": {"test_accuracy": 0.5}})
    return model, tmp_path / "ckpt"


def test_round_trip_is_bit_exact(saved):
    model, path = saved
    loaded = load_checkpoint(path)
    assert loaded.cfg == model.cfg and not loaded.training
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    x = torch.rand(4, 1, 28, 28)
    # loading gives channels_last weights; in the same layout the outputs are bit-identical
    assert torch.equal(model.to(memory_format=torch.channels_last).classify(x), loaded.classify(x))
    meta = json.loads((path / META).read_text())
    assert meta["dataset"] == "mnist" and meta["config"]["capacity"] == 0.5 and meta["code_version"]


def test_corrupt_weights_give_a_clear_error(saved):
    _, path = saved
    (path / WEIGHTS).write_bytes(b"\x80\x04 this is a pickle, not safetensors")
    with pytest.raises(CheckpointError, match=f"{WEIGHTS}: not a readable safetensors file"):
        load_checkpoint(path)


def test_truncated_weights_give_a_clear_error(saved):
    _, path = saved
    data = (path / WEIGHTS).read_bytes()
    (path / WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_checkpoint(path)


def test_wrong_shape_names_the_tensor(saved):
    model, path = saved
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state["to_mu.weight"] = torch.zeros(3, 3)
    save_file(state, str(path / WEIGHTS))
    with pytest.raises(CheckpointError, match=r"to_mu.weight has shape \(3, 3\)"):
        load_checkpoint(path)


def test_missing_tensor_is_named(saved):
    model, path = saved
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "to_logvar.bias"}
    save_file(state, str(path / WEIGHTS))
    with pytest.raises(CheckpointError, match="to_logvar.bias"):
        load_checkpoint(path)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.pop("config"), "field 'config' is missing"),
    (lambda m: m.update(format="other/9"), "format is 'other/9'"),
    (lambda m: m["config"].update(widht1=3), "unknown config field"),
    (lambda m: m.update(dataset="fmnist"), "dataset 'fmnist' but config says 'mnist'"),
])
def test_bad_json_fields_are_named(saved, edit, message):
    _, path = saved
    meta = json.loads((path / META).read_text())
    edit(meta)
    (path / META).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_unparsable_json_and_missing_files(saved, tmp_path):
    _, path = saved
    (path / META).write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(path)
    (path / META).unlink()
    with pytest.raises(CheckpointError, match=f"{META}: missing"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        load_checkpoint(tmp_path / "nowhere")


def test_half_precision_storage_round_trips_within_fp16(saved, tmp_path):
    model, _ = saved
    save_checkpoint(model, tmp_path / "half", {}, half=True)
    loaded = load_checkpoint(tmp_path / "half")
    assert next(loaded.parameters()).dtype == torch.float32
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(loaded.classify(x), model.classify(x), rtol=1e-2, atol=1e-2)


def test_unknown_pretrained_name_lists_what_is_shipped():
    with pytest.raises(CheckpointError, match="no pretrained checkpoint 'cifar'"):
        load_pretrained("cifar")


def test_the_network_takes_its_shape_and_every_shipped_checkpoint_rebuilds():
    """BetaVAC is built from its ModelShape alone; the training config rides along for the checkpoint."""
    from vacdemo.config import ModelShape
    from vacdemo.models.checkpoint import load_checkpoint
    from vacdemo.paths import PRETRAINED
    from vacdemo.models.vac import BetaVAC
    assert BetaVAC(ModelShape(width1=4, width2=8)).shape.width2 == 8
    folders = sorted(p.parent for p in PRETRAINED.glob("*/config.json"))
    assert len(folders) >= 6, folders  # two β-VACs and their rivals
    for folder in folders:
        model = load_checkpoint(folder)
        assert model.shape == model.cfg.shape, folder
