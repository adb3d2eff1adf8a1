"""The attack path chosen by measurement (issue 32): the policy routes each batch size, a path that disagrees with
the plain one never serves, and the cache is measured once and shared under a lock."""
import json
import threading

import pytest
import torch

from vacdemo.attacks import fastpath as policy
from vacdemo.attacks.pgd import pgd
from vacdemo.lab.gallery import load_gallery
from vacdemo.models.checkpoint import PRETRAINED
from vacdemo.serving import fastpath


@pytest.fixture(autouse=True)
def no_policy():
    policy.clear_policy()
    yield
    policy.clear_policy()


def test_the_policy_routes_each_batch_size_and_falls_back_to_the_flag():
    cpu, model, twin = torch.device("cpu"), torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    assert policy.path_for(cpu, model, 1) == policy.default_path(cpu)  # nothing measured: the old guess
    policy.set_policy("cpu", model, [(21, "folded-bf16"), (1, "folded")])
    assert [policy.path_for(cpu, model, n) for n in (1, 2, 21, 500)] == ["folded", "folded-bf16", "folded-bf16",
                                                                          "folded-bf16"]
    assert policy.path_for(cpu, twin, 1) == policy.default_path(cpu)  # the same shape, other weights: not measured
    with pytest.raises(ValueError):
        policy.set_policy("cpu", model, [(1, "turbo")])


def test_each_path_attacks_the_same_function(model, test_batch):
    """Forced through each path, PGD-40 finds the same adversarial predictions on nearly every image."""
    x, y = test_batch[0][:64], test_batch[1][:64]
    preds = {}
    for path in fastpath.candidates(torch.device("cpu")):
        x_adv = fastpath.run_path(model, x, y, 0.015, path)
        with torch.no_grad():
            preds[path] = model.classify(x_adv).argmax(1)
        assert (x_adv - x).abs().max() <= 0.015 + 1e-6
    for path, p in preds.items():
        assert (p == preds["plain"]).float().mean() >= 0.9, path


def test_a_disagreeing_path_never_serves(monkeypatch, model):
    g = load_gallery(PRETRAINED / "mnist")
    x = torch.stack([g.image(i) for i in range(16)])
    real = fastpath.success_rate
    monkeypatch.setattr(fastpath, "success_rate",
                        lambda m, x_, y_, e, path, c: real(m, x_, y_, e, path, c) + (0.3 if path == "folded" else 0))
    monkeypatch.setattr(fastpath, "SIZES", (1, 4))
    monkeypatch.setattr(fastpath, "REPEATS", 1)
    result = fastpath.measure(model, x, g.labels[:16], [0.015])
    assert result["agrees"]["folded"] is False and all(p != "folded" for _, p in result["policy"])
    assert "✗" in fastpath.table(result)


def test_the_cache_is_measured_once_under_a_lock(monkeypatch, model, tmp_path):
    calls = []

    def fake_measure(m, x, y, eps_list):
        calls.append(threading.get_ident())
        return {"policy": [[1, "folded"], [32, "plain"]]}
    monkeypatch.setattr(fastpath, "measure", fake_measure)
    x, y = torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long)
    cache = tmp_path / "cache.json"
    threads = [threading.Thread(target=fastpath.ensure, args=(model, x, y, [0.1], cache)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and json.loads(cache.read_text())["policy"] == [[1, "folded"], [32, "plain"]]
    assert policy.path_for(torch.device("cpu"), model, 1) == "folded"
    assert policy.path_for(torch.device("cpu"), model, 8) == "plain"
    cache.write_text("{broken")  # a damaged cache is measured again, not trusted
    fastpath.ensure(model, x, y, [0.1], cache)
    assert len(calls) == 2


def test_pgd_takes_the_policys_path(model, test_batch, monkeypatch):
    seen = []
    real = policy.path_for
    monkeypatch.setattr("vacdemo.attacks.pgd.path_for", lambda d, m, n: seen.append((m, n)) or real(d, m, n))
    x, y = test_batch[0][:3], test_batch[1][:3]
    pgd(model, x, y, eps=0.1, steps=2)
    pgd(model, x, y, eps=0.1, steps=2, fast=False)  # the plain path: no policy asked
    assert seen == [(model, 3)]


def test_a_much_slower_path_is_dropped_after_the_smallest_size(monkeypatch, model):
    """On a CPU whose bf16 runs a reference kernel (10× slower), the bf16 path is timed once, not at every size."""
    g = load_gallery(PRETRAINED / "mnist")
    x = torch.stack([g.image(i) for i in range(8)])
    timed = []

    def fake_ms(fn, repeats=3):
        fn()
        path = policy.path_for(torch.device("cpu"), model, 1)  # run_path forced the policy to the timed path
        timed.append(path)
        return 100.0 if path == "folded-bf16" else 10.0
    monkeypatch.setattr(fastpath, "median_ms", fake_ms)
    monkeypatch.setattr(fastpath, "SIZES", (1, 4))
    monkeypatch.setattr(fastpath, "candidates", lambda d: ["plain", "folded", "folded-bf16"])
    result = fastpath.measure(model, x, g.labels[:8], [0.015])
    assert timed.count("folded-bf16") == 1 and result["dropped"] == ["folded-bf16"]
    assert all(p != "folded-bf16" for _, p in result["policy"]) and "dropped" in fastpath.table(result)
