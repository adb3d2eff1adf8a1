"""The README's commands, as a newcomer runs them in a fresh interpreter: every command's --help, evaluate,
realset and attack on a shipped model, and the app answering as `make demo` serves it."""
import shutil
import subprocess
import sys
import urllib.request

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # each command in a fresh interpreter; the whole test set for evaluate

COMMANDS = ["train", "loadtest", "serve", "evaluate", "realset", "attack", "assets", "card", "bench", "reproduce"]


def vacdemo(*args: str, timeout: float = 600) -> str:
    done = subprocess.run([sys.executable, "-m", "vacdemo", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def test_every_command_has_its_help():
    assert all(c in vacdemo("--help") for c in COMMANDS)
    for c in COMMANDS:
        assert vacdemo(c, "--help").startswith(f"usage: python -m vacdemo {c}"), c


def test_evaluate_realset_and_attack_on_a_shipped_model(data_dir, tmp_path):
    out = vacdemo("evaluate", "--dataset", "mnist", "--data-dir", str(data_dir))
    assert "accuracy" in out
    assert "mnist" in vacdemo("realset", "--dataset", "mnist")
    ckpt = tmp_path / "mnist"  # a copy: attack writes its detector beside the checkpoint
    shutil.copytree(ROOT / "pretrained" / "mnist", ckpt)
    out = vacdemo("attack", "--dataset", "mnist", "--data-dir", str(data_dir), "--eps", "0", "0.3", "--n", "20",
                  "--n-fit", "40", "--steps", "5", "--refit", "--checkpoint", str(ckpt), "--out", str(tmp_path / "out"))
    assert "0.3" in out


def test_make_demo_answers(server):
    """The app as make demo serves it (serve.py): its health check and its page."""
    assert urllib.request.urlopen(f"{server}/_stcore/health", timeout=10).read() == b"ok"
    assert b"<html" in urllib.request.urlopen(server, timeout=10).read().lower()
