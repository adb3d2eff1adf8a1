"""The fast path (bf16 autocast where native) must not weaken the attack, and the bench must run."""
import json

import pytest

from vacdemo import load_pretrained
from vacdemo.serving import lab as serving
from vacdemo.perf.bench import robust_accuracy
from vacdemo.cli import main
from vacdemo.data import load_split
from vacdemo.paper import TABLE_EPS


@pytest.mark.slow  # PGD-40 on 200 images twice per ε
@pytest.mark.parametrize("eps", TABLE_EPS["mnist"])
def test_fast_path_robust_accuracy_within_half_a_point_of_fp32(eps, data_dir):
    model = load_pretrained("mnist")
    x, y = load_split("mnist", False, data_dir).batch(slice(0, 200))
    fast, plain = robust_accuracy(model, x, y, eps, True), robust_accuracy(model, x, y, eps, False)
    assert abs(fast - plain) <= 0.005, (eps, fast, plain)
    if eps == 0:
        assert plain > 0.95  # the clean images are mostly right: the comparison is not vacuous


@pytest.mark.slow  # the whole bench, torch.compile's levers included (needs g++: make cxx)
def test_bench_prints_one_table_with_torchattacks_beside_ours(data_dir, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--device", "cpu", "--repeats", "1", "--n", "10", "--batch", "8", "--presets", "fast",
                 "--data-dir", str(data_dir), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "PGD-40 ℓ∞, one image (ms)" in text and "16-value ε-grid" in text and "app cold start" in text
    assert "channels_last" in text

    rows = json.loads(out.read_text())
    shipped = sum(bool(serving.load_rivals(name)) for name in ("mnist", "fmnist"))  # a comparison row each
    # the measured path's one-image row, PGD against torchattacks (3), the one-image levers (5), batch sizes (5),
    # layout, comparisons, training, exactness (5), cold start
    assert len(rows) == 1 + 3 + 5 + 5 + 1 + shipped + 1 + 5 + 1
    assert "the attack path by batch size, measured" in text and "| rows | plain (ms) |" in text
    assert all(r["ours"] > 0 for r in rows if "torchattacks" in r)  # every lever ran here (ONNX Runtime included)
