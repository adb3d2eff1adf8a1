"""The server's shared queue through vacdemo.serving.lab: a batch that mixes students' images gives each row its own
image's attack (no cross-talk), a Grid answers the slider's ε first and then the whole grid, and a second
student asking for the same grid gets the finished rows without a new attack."""
import numpy as np
import torch

from vacdemo.serving import lab as serving
from vacdemo.lab.sweep import eps_grid


def test_a_mixed_batch_gives_each_row_its_own_images_attack():
    lab = serving.load_lab("mnist")
    idx = [0, 9, 17, 30]
    xs = [lab.gallery.image(i) for i in idx]
    eps = [0.3, 0.15, 0.045, 0.3]
    payloads = [(x, int(lab.gallery.labels[i]), e, 0.01, None) for x, i, e in zip(xs, idx, eps)]
    x_adv = serving.run_rows(("mnist", "inf", 40, False, True), payloads)
    for k, (x, e) in enumerate(zip(xs, eps)):
        dist = [(x_adv[k] - other).abs().max().item() for other in xs]
        assert dist[k] <= e + 1e-6  # in its own image's ε-ball
        assert all(d > e + 0.1 for j, d in enumerate(dist) if j != k)  # and far from every other image
    with torch.no_grad():
        pred = lab.model.classify(torch.stack(x_adv)).argmax(1)
    assert pred[0] != payloads[0][1] and pred[3] != payloads[3][1]  # ε = 0.3 fools it, row by row


def test_a_grid_answers_its_first_eps_then_all_and_is_shared():
    lab = serving.load_lab("mnist")
    x, y = lab.gallery.image(5).numpy(), int(lab.gallery.labels[5])
    settings = dict(norm="inf", steps=40, alpha=None, target=None, adaptive=False)
    grid = serving.Grid("mnist", x, y, **settings, first=10, owner="student-a")
    grid.futures[10].result(60)
    first = grid.sweep([0, 10])
    assert np.allclose(first.eps, [0, eps_grid("mnist", "inf")[10]]) and np.array_equal(first.x_adv[0], x[0])
    for f in grid.futures.values():
        f.result(60)
    whole = grid.sweep()
    assert len(whole.eps) == 21 and whole.pred[-1] != y
    batches = len(serving.queue().batches)
    again = serving.Grid("mnist", x, y, **settings, first=3, owner="student-b")
    assert all(f.done() for f in again.futures.values()) and len(serving.queue().batches) == batches
    assert np.array_equal(again.sweep().x_adv, whole.x_adv)
