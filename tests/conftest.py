"""Shared fixtures: the real data, the shipped models, a test batch, free ports and the app served on one.

Two tiers (pytest.ini): `make check` runs the tests not marked `slow` (minutes), `make test` runs all of them.
"""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Real MNIST/Fashion-MNIST: $VACDEMO_DATA, else ../shared/data beside the checkout. Never skipped."""
    path = Path(os.environ.get("VACDEMO_DATA") or ROOT.parent / "shared" / "data")
    assert (path / "MNIST" / "raw").is_dir(), f"tests need MNIST under {path} (set VACDEMO_DATA)"
    return path


class Pretrained(dict):
    """The shipped models by data set, each loaded once, on first use: pretrained["mnist"], pretrained["fmnist"]."""

    def __missing__(self, name: str):
        from vacdemo import load_pretrained
        model = self[name] = load_pretrained(name)
        return model


@pytest.fixture(scope="session")
def pretrained() -> Pretrained:
    """The shipped models (load_pretrained), shared by the whole session: tests must not change them (a test that
    writes to its model's weights or flags loads its own with load_pretrained)."""
    return Pretrained()


@pytest.fixture(scope="session")
def model(pretrained):
    """The shipped MNIST β-VAC (pretrained["mnist"]): the model most tests attack."""
    return pretrained["mnist"]


@pytest.fixture(scope="session")
def test_batch(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    """The first 100 images of the MNIST test set and their labels (x in [0, 1], N×1×28×28)."""
    from vacdemo.data import load_split
    return load_split("mnist", False, data_dir).batch(slice(0, 100))


def free_ports(n: int = 1) -> int:
    """A loopback port p with p … p + n − 1 all free (for a server and its replicas)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p + n < 65535 and all(_free(p + i) for i in range(n)):
            return p
    raise RuntimeError("no free ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.fixture
def free_port() -> int:
    """A free loopback port."""
    return free_ports(1)


@contextlib.contextmanager
def serve_app(port: int | None = None, env: dict | None = None, start_s: float = 240):
    """The app as `make demo` serves it (`streamlit run serve.py`, which warms the models and runs one attack
    before the first visitor) on a loopback port (a free one unless given), with env added to the environment;
    yields its URL once it answers its health check, and stops it afterwards."""
    port = port or free_ports(1)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.port",
                             str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_s
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode} before serving") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start within {start_s:.0f} s") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """The app served on a free loopback port (serve_app), one for the session: its URL. Its class store is a
    temporary folder, and the address students join from is set (the same join link and QR on any machine)."""
    port = free_ports(1)
    env = {"VACDEMO_CLASSROOM_DIR": str(tmp_path_factory.mktemp("classroom")),
           "VACDEMO_PUBLIC_URL": f"http://192.168.1.20:{port}"}
    with serve_app(port, env) as url:
        yield url


CHROMIUM = os.environ.get("VACDEMO_CHROMIUM", "/usr/bin/chromium")  # Debian's (make chromium installs it)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright, one per test module (each test opens its own pages). Not one per
    session: Playwright's sync API runs an asyncio loop in this thread while it lives, and later tests that call
    asyncio.run (the load tests) or start Playwright again would fail under it."""
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()
