import json
import re
import shutil
import subprocess
import sys

import pytest
import torch

from vacdemo import BetaVAC, preset
from vacdemo.models.checkpoint import WEIGHTS, save_checkpoint
from vacdemo.cli import build_parser, main
from conftest import ROOT
from vacdemo.models.vac import build_model


def test_help_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "vacdemo", "train", "--help"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "--capacity" in out and "--preset" in out and "--device" in out


def modules_loaded_by(argv: list[str]) -> list[str]:
    """The vacdemo modules (and torch, if loaded) after main(argv) in a fresh interpreter; argv is one that
    only parses (--help, or an argparse error), so what is loaded is what building the parser and parsing need."""
    code = ("import sys\n"
            "from vacdemo.cli import main\n"
            "try:\n"
            f"    main({argv!r})\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('vacdemo') or m == 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=120).stdout
    return eval(out.splitlines()[-1])


HEAVY = ("torch", "vacdemo.perf", "vacdemo.serving", "vacdemo.study", "vacdemo.attacks", "vacdemo.models",
         "vacdemo.training", "vacdemo.lab", "vacdemo.data")


def is_under(module: str, packages) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["reproduce", "--help"], ["bench", "--help"]])
def test_help_loads_no_torch_nor_any_command_code(argv):
    loaded = modules_loaded_by(argv)
    assert "vacdemo.cli" in loaded and "vacdemo.cli.attack" in loaded  # the parser was built
    assert not [m for m in loaded if is_under(m, HEAVY)], loaded


def test_parsing_an_attack_loads_no_serving_or_benchmark_code():
    for argv in (["attack", "--dataset", "mnist", "--help"], ["attack", "--dataset", "mnist", "--norm", "bad"]):
        loaded = modules_loaded_by(argv)
        assert not [m for m in loaded if is_under(m, ("vacdemo.serving", "vacdemo.perf", "vacdemo.study"))], loaded


def test_helpers_still_import_from_vacdemo_cli():
    from vacdemo.cli import epoch_robustness, parse_override, print_table
    from vacdemo.cli.attack import print_table as home
    assert callable(epoch_robustness) and parse_override("beta=3") == ("beta", 3.0) and print_table is home
    with pytest.raises(AttributeError):
        import vacdemo.cli
        vacdemo.cli.nothing_here


def test_set_overrides_are_typed():
    args = build_parser().parse_args(["train", "--dataset", "mnist", "--set", "optimizer=sgd",
                                      "--set", "milestones=5,7", "--set", "bf16=false", "--set", "beta=10"])
    assert dict(args.set) == {"optimizer": "sgd", "milestones": (5, 7), "bf16": False, "beta": 10.0}


@pytest.mark.parametrize("bad", ["nonsense=1", "beta=high", "bf16=maybe", "beta"])
def test_bad_overrides_are_refused(bad, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--dataset", "mnist", "--set", bad])
    err = capsys.readouterr().err
    assert "FIELD=VALUE" in err or "is not a valid" in err


def test_missing_data_root_is_one_line_not_a_traceback(tmp_path, capsys):
    model = build_model(preset("fast", width1=8, width2=16))
    save_checkpoint(model, tmp_path / "ckpt", {})
    rc = main(["evaluate", "--dataset", "mnist", "--checkpoint", str(tmp_path / "ckpt"),
               "--data-dir", str(tmp_path / "no-data")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: MNIST not found under") and err.count("\n") == 1


def test_corrupt_checkpoint_is_one_line(tmp_path, capsys):
    save_checkpoint(build_model(preset("fast", width1=8, width2=16)), tmp_path / "ckpt", {})
    (tmp_path / "ckpt" / WEIGHTS).write_bytes(b"garbage")
    assert main(["evaluate", "--dataset", "mnist", "--checkpoint", str(tmp_path / "ckpt")]) == 2
    assert "not a readable safetensors file" in capsys.readouterr().err


def test_checkpoint_of_another_dataset_is_refused(tmp_path, capsys):
    save_checkpoint(build_model(preset("fast", width1=8, width2=16, dataset="fmnist")), tmp_path / "ckpt", {})
    assert main(["evaluate", "--dataset", "mnist", "--checkpoint", str(tmp_path / "ckpt")]) == 2
    assert "trained on 'fmnist', not 'mnist'" in capsys.readouterr().err


def test_evaluate_prints_accuracy_on_real_data(data_dir, tmp_path, capsys):
    torch.manual_seed(0)
    save_checkpoint(build_model(preset("fast", width1=8, width2=16)), tmp_path / "ckpt", {})
    assert main(["evaluate", "--dataset", "mnist", "--checkpoint", str(tmp_path / "ckpt"),
                 "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "clean accuracy" in out and "10000 images" in out


def test_attack_table_end_to_end_on_the_shipped_model(data_dir, tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(ROOT / "pretrained" / "mnist", ckpt)
    (ckpt / "detector_inf.json").unlink(missing_ok=True)  # the command fits one when missing
    rc = main(["attack", "--dataset", "mnist", "--eps", "0", "0.3", "--n", "40", "--n-fit", "40", "--steps", "10",
               "--adaptive", "--checkpoint", str(ckpt), "--data-dir", str(data_dir), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "robust acc" in out and "adaptive success" in out
    assert (ckpt / "detector_inf.json").exists()
    rows = json.loads((tmp_path / "attack_mnist_inf.json").read_text())["rows"]
    assert [r["eps"] for r in rows] == [0.0, 0.3]
    assert rows[0]["adaptive_success"] == 0.0 and rows[1]["robust_accuracy"] < rows[0]["robust_accuracy"]
    assert (tmp_path / "attack_mnist_inf.csv").read_text().startswith("eps,alpha,robust_accuracy")


@pytest.mark.parametrize("eps, norm", [("1.5", "inf"), ("-0.1", "inf"), ("30", "2")])
def test_attack_eps_out_of_range_is_one_line(eps, norm, capsys):
    assert main(["attack", "--dataset", "mnist", "--eps", eps, "--norm", norm]) == 2
    err = capsys.readouterr().err
    assert "out of range" in err and err.count("\n") == 1


def test_evaluate_reads_a_plain_cnn_and_prints_each_class(data_dir, capsys):
    """A rival has no decoder: its clean and per-class accuracy, no reconstruction lines (once a KeyError)."""
    assert main(["evaluate", "--dataset", "fmnist", "--checkpoint", str(ROOT / "pretrained" / "fmnist-cnn"),
                 "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "clean accuracy" in out and "reconstruction" not in out
    per_class = dict(re.findall(r"(\w[\w/ ]*?) (0\.\d{3}|1\.000)", out.split("per class:")[1]))
    assert len(per_class) == 10 and 0.5 < float(per_class["Shirt"]) < float(per_class["Trouser"])
